import jetbrains.buildServer.configs.kotlin.*
import jetbrains.buildServer.configs.kotlin.buildFeatures.dockerSupport
import jetbrains.buildServer.configs.kotlin.buildSteps.dockerCommand
import jetbrains.buildServer.configs.kotlin.buildSteps.script
import jetbrains.buildServer.configs.kotlin.triggers.vcs

/*
 * RiskOps on TeamCity (Kotlin DSL): the same `make` targets as .ci/run and
 * .github/workflows/ci.yml. The test build runs in Debian as root with PostgreSQL (pgvector)
 * and Redis started beside it; the image is pushed on version tags.
 */
version = "2024.03"

project {
    buildType(Lint)
    buildType(Test)
    buildType(Image)
}

object Lint : BuildType({
    name = "Lint and type check"
    vcs { root(DslContext.settingsRoot) }
    steps {
        script {
            name = "make lint"
            scriptContent = "make lint"
            dockerImage = "python:3.11-bookworm"
            dockerRunParameters = "-u root"
        }
    }
    triggers { vcs { } }
})

object Test : BuildType({
    name = "Tests (PostgreSQL, Redis, CI=true)"
    vcs { root(DslContext.settingsRoot) }
    params {
        param("env.CI", "true")
        param("env.RISKOPS_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@postgres:5432/test")
        param("env.RISKOPS_TEST_REDIS_URL", "redis://redis:6379/0")
    }
    steps {
        script {
            name = "Start PostgreSQL and Redis"
            scriptContent = """
                docker network create riskops-ci-%teamcity.build.id% || true
                docker run -d --rm --name postgres-%teamcity.build.id% --network riskops-ci-%teamcity.build.id% \
                    --network-alias postgres -e POSTGRES_DB=test -e POSTGRES_HOST_AUTH_METHOD=trust \
                    pgvector/pgvector:pg16
                docker run -d --rm --name redis-%teamcity.build.id% --network riskops-ci-%teamcity.build.id% \
                    --network-alias redis redis:7.4-alpine
            """.trimIndent()
        }
        script {
            name = "make test (what .ci/run runs)"
            scriptContent = """
                apt-get update -qq
                apt-get install -y -qq --no-install-recommends nodejs npm postgresql-client
                until pg_isready -h postgres -U postgres; do sleep 1; done
                make test
            """.trimIndent()
            dockerImage = "python:3.11-bookworm"
            dockerRunParameters = "-u root --network riskops-ci-%teamcity.build.id%"
        }
        script {
            name = "Stop PostgreSQL and Redis"
            executionMode = BuildStep.ExecutionMode.ALWAYS
            scriptContent = """
                docker rm -f postgres-%teamcity.build.id% redis-%teamcity.build.id% || true
                docker network rm riskops-ci-%teamcity.build.id% || true
            """.trimIndent()
        }
    }
    triggers { vcs { } }
    dependencies { snapshot(Lint) { } }
})

object Image : BuildType({
    name = "Image (pushed on version tags)"
    vcs {
        root(DslContext.settingsRoot)
        branchFilter = "+:*"
    }
    params {
        // The registry (e.g. ghcr.io/owner); its credentials come from the Docker Support
        // feature's connection, configured in TeamCity.
        param("registry", "")
    }
    steps {
        dockerCommand {
            name = "docker build"
            commandType = build {
                source = file { path = "Dockerfile" }
                namesAndTags = "%registry%/riskops:%build.vcs.number%"
            }
        }
        script {
            name = "docker push (tags v*)"
            scriptContent = """
                case "%teamcity.build.branch%" in
                    v*) docker tag "%registry%/riskops:%build.vcs.number%" "%registry%/riskops:%teamcity.build.branch%"
                        docker push "%registry%/riskops:%teamcity.build.branch%" ;;
                    *) echo "not a version tag: nothing pushed" ;;
                esac
            """.trimIndent()
        }
    }
    features { dockerSupport { } }
    triggers { vcs { branchFilter = "+:v*" } }
    dependencies { snapshot(Test) { } }
})
