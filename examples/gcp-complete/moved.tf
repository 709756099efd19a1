# The spinops layer moved into modules/spinops/platform (module.platform):
# a state from before keeps its objects, nothing is replaced. (The preflight
# data source moved too; data sources are read again and need no move.)

moved {
  from = spinops_managed_spinnaker.this
  to   = module.platform.spinops_managed_spinnaker.this
}

moved {
  from = spinops_zone.red
  to   = module.platform.spinops_zone.red
}

moved {
  from = spinops_zone.green
  to   = module.platform.spinops_zone.green
}

moved {
  from = spinops_bridge.this
  to   = module.platform.spinops_bridge.this
}

moved {
  from = spinops_agent_account.control
  to   = module.platform.spinops_agent_account.control
}

moved {
  from = spinops_agent_account.target
  to   = module.platform.spinops_agent_account.target
}

moved {
  from = spinops_backup_policy.this
  to   = module.platform.spinops_backup_policy.this
}

# The bridge's address, reserved by this stack before modules/gcp/edge took
# over the bridge's edge: the same address (the module ignores the
# description it would give a new one, which Google Cloud cannot change in
# place), now with the module's firewall rules.
moved {
  from = google_compute_address.bridge
  to   = module.edge.google_compute_address.bridge["this"]
}
