# The production zone's availability as `spinops monitor` measured it.
data "spinops_zone_slo" "green" {
  zone_id = spinops_zone.green.id
}

output "green_availability_30d" {
  value = data.spinops_zone_slo.green.availability["30d"]
}

output "green_error_budget_remaining" {
  value = data.spinops_zone_slo.green.error_budget_remaining
}

output "green_alerts" {
  value = data.spinops_zone_slo.green.alerts
}
