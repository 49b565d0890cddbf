"""Issue trackers (Jira, GitHub Issues): connections, remote issues kept in sync both ways (ADR 0035)."""
