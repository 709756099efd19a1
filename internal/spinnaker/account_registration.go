package spinnaker

// AccountRegistrationAnnotation, on a SpinnakerAccount spinops_agent_account
// wrote, holds the id of the bridge registration it was attached for. The
// bridge switches spec.enabled (disabling an account whose agent is gone
// past its grace period) only on SpinnakerAccounts that carry the id of one
// of its own registrations, so a SpinnakerAccount of the same name made by
// hand or attached through another bridge is never touched.
const AccountRegistrationAnnotation = "bridge.spinops.io/registration-id"
