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
