################################################################################
# Cloud DNS: Deck's and Gate's names (and the bridge's) as A records of the
# addresses, when dns_managed_zone is given
################################################################################

locals {
  dns_project = coalesce(var.dns_project_id, var.project_id)
  dns_records = var.dns_managed_zone == null ? {} : {
    deck = var.deck_domain
    gate = var.gate_domain
  }
}

resource "google_dns_record_set" "this" {
  for_each = local.dns_records

  project      = local.dns_project
  managed_zone = var.dns_managed_zone
  name         = "${each.value}."
  type         = "A"
  ttl          = var.dns_ttl
  rrdatas      = [google_compute_global_address.this.address]
}

resource "google_dns_record_set" "bridge" {
  for_each = { for k, b in local.bridge : k => b if b.domain != null && var.dns_managed_zone != null }

  project      = local.dns_project
  managed_zone = var.dns_managed_zone
  name         = "${each.value.domain}."
  type         = "A"
  ttl          = var.dns_ttl
  rrdatas      = [google_compute_address.bridge[each.key].address]
}
