"""The response to an incident beyond paging: tasks and checklists (roles, responders and skills come here too)."""
