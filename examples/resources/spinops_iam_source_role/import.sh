# A source role is imported by its name (not its ARN).
terraform import spinops_iam_source_role.spinnaker spinnaker-managing
