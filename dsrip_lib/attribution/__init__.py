"""Attribution of members to ACOs: rules, claims plurality, flows, member-months (Sec 4.4.4)."""
