# Every account registered at the bridge, for a dashboard or a check: which
# clusters are attached, and which of them Spinnaker cannot use right now.
data "spinops_agent_accounts" "all" {}

output "agent_accounts" {
  value = { for a in data.spinops_agent_accounts.all.accounts : a.name => a.status }
}

# Accounts without a connected, synced agent (syncing, never_connected,
# unavailable or withdrawn).
output "agent_accounts_not_connected" {
  value = [for a in data.spinops_agent_accounts.all.accounts : a.name if a.status != "connected"]
}

# Why the bridge last refused an agent (e.g. a stale credential), where it did.
output "agent_refusals" {
  value = { for a in data.spinops_agent_accounts.all.accounts : a.name => a.last_refusal if a.last_refusal != "" }
}
