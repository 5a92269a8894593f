"""Roles and what each may do. Endpoints ask for a capability, never for a role by name."""

from enum import StrEnum


class Role(StrEnum):
    VIEWER = "viewer"  # reads everything, changes nothing
    ANALYST = "analyst"  # works cases, submits payments
    APPROVER = "approver"  # an analyst who may also approve others' rule changes
    ADMIN = "admin"  # administers keys and the platform
    SERVICE = "service"  # a machine caller: the payment gateway or a stream bridge


class Capability(StrEnum):
    READ = "read"
    SUBMIT_PAYMENTS = "submit_payments"
    ADMINISTER = "administer"
    MANAGE_LISTS = "manage_lists"  # block/allow/watch list entries: one analyst suffices
    DRAFT_RULES = "draft_rules"  # write, backtest and submit ruleset drafts
    APPROVE_RULES = "approve_rules"  # approve or reject others' drafts (never one's own)
    WORK_CASES = "work_cases"  # claim, annotate, dispose and reopen review cases
    LABEL_TRANSACTIONS = "label_transactions"  # record a fraud outcome (analyst, chargeback)
    INVESTIGATE = "investigate"  # run investigations (viewers read them)


GRANTS: dict[Capability, frozenset[Role]] = {
    Capability.READ: frozenset(Role),
    Capability.SUBMIT_PAYMENTS: frozenset({Role.ANALYST, Role.APPROVER, Role.ADMIN, Role.SERVICE}),
    Capability.ADMINISTER: frozenset({Role.ADMIN}),
    Capability.MANAGE_LISTS: frozenset({Role.ANALYST, Role.APPROVER, Role.ADMIN}),
    Capability.DRAFT_RULES: frozenset({Role.ANALYST, Role.APPROVER, Role.ADMIN}),
    Capability.APPROVE_RULES: frozenset({Role.APPROVER, Role.ADMIN}),
    Capability.WORK_CASES: frozenset({Role.ANALYST, Role.APPROVER, Role.ADMIN}),
    # A chargeback feed is a machine caller: services may label, never work cases.
    Capability.LABEL_TRANSACTIONS: frozenset(
        {Role.ANALYST, Role.APPROVER, Role.ADMIN, Role.SERVICE}
    ),
    Capability.INVESTIGATE: frozenset({Role.ANALYST, Role.APPROVER, Role.ADMIN}),
}


def allows(role: Role, capability: Capability) -> bool:
    return role in GRANTS[capability]
