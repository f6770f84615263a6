"""Attribution of members to ACOs: rules, claims plurality, flows, member-months (protocol 4.4.4)."""
