# An account is imported by its name at the bridge; its kinds, namespaces,
# mode and permissions are read back from the registration. What the bridge
# does not know (install_agent, credential_secret, spinnaker,
# credential_rotation) comes from the configuration: the first apply after the
# import applies those objects, and adopts credential_rotation without rotating.
terraform import spinops_agent_account.prod prod
