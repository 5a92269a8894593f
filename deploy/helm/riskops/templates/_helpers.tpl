{{- define "riskops.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "riskops.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector labels of one component (api, worker, ...). */}}
{{- define "riskops.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "riskops.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "riskops.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "riskops.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* The settings every RiskOps container gets: the ConfigMap, then the Secret's keys. */}}
{{- define "riskops.env" -}}
envFrom:
  - configMapRef:
      name: {{ include "riskops.fullname" . }}
env:
{{- range $name, $key := .Values.secret.env }}
  - name: {{ $name }}
    valueFrom:
      secretKeyRef:
        name: {{ $.Values.secret.name }}
        key: {{ $key }}
{{- end }}
{{- end -}}

{{/* Writable folders under a read-only root filesystem: the data folder and /tmp. */}}
{{- define "riskops.volumeMounts" -}}
volumeMounts:
  - name: data
    mountPath: /var/lib/riskops
  - name: tmp
    mountPath: /tmp
{{- end -}}

{{- define "riskops.volumes" -}}
volumes:
  - name: data
    emptyDir: {}
  - name: tmp
    emptyDir: {}
{{- end -}}
