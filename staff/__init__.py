"""Staff accounts: sign-in, roles, invitations, password resets and the audit trail."""
