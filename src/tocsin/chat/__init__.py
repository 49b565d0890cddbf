"""ChatOps war rooms: a chat room per incident on Slack, Matrix or Microsoft Teams (ADR 0033)."""
