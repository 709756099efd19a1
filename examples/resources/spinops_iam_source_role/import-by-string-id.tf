import {
  to = spinops_iam_source_role.spinnaker
  id = "spinnaker-managing"
}
