# The spinops monitor checking both zones every 5 s through the API
# server's service proxy (they are not exposed here), keeping each zone's
# availability SLI in a ConfigMap of its namespace.
#
# No Spinnaker pods run locally, so every check fails: the SLO below shows
# the machinery (rounds recorded, the budget burning, the last failure and
# its reason), not a healthy Spinnaker. scripts/demo.sh plays the monitor's
# pod: the same `spinops monitor` binary with the Deployment's config,
# Secret and ServiceAccount.

resource "spinops_monitor" "local" {
  namespace     = spinops_managed_spinnaker.local.operator.namespace
  installation  = "local-demo"
  interval      = "5s"
  check_timeout = "4s"
  wait          = false # no Node runs here

  zone {
    name      = spinops_zone.green.name
    namespace = spinops_zone.green.namespace
    tier      = spinops_zone.green.tier
    # Where the service proxy reaches Gate and Deck (a zone exposed as a
    # Service, or with its own ports in service_settings, moves them).
    gate_port = spinops_zone.green.service_ports["gate"]
    deck_port = spinops_zone.green.service_ports["deck"]
  }

  zone {
    name      = spinops_zone.red.name
    namespace = spinops_zone.red.namespace
    tier      = spinops_zone.red.tier
    # Where the service proxy reaches Gate and Deck (a zone exposed as a
    # Service, or with its own ports in service_settings, moves them).
    gate_port = spinops_zone.red.service_ports["gate"]
    deck_port = spinops_zone.red.service_ports["deck"]
  }
}

data "spinops_zone_slo" "green" {
  zone_id    = spinops_zone.green.id
  depends_on = [spinops_monitor.local]
}

data "spinops_zone_slo" "red" {
  zone_id    = spinops_zone.red.id
  depends_on = [spinops_monitor.local]
}

output "zone_slo" {
  description = "Each zone's measured availability (1h window), error budget left and last failed check, as the monitor recorded them."
  value = {
    for z, s in { green      = data.spinops_zone_slo.green, red = data.spinops_zone_slo.red } : z => {
      measured               = s.measured
      availability_1h        = try(s.availability["1h"], null)
      error_budget_remaining = s.error_budget_remaining
      alerts                 = [for a in s.alerts : "${a.rule} (${a.severity})"]
      last_failure           = s.last_failure
    }
  }
}
