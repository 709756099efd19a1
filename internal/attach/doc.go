// Package attach attaches a Kubernetes cluster to Spinnaker through the
// bridge: it talks to the bridge's admin API (Admin), renders and applies
// what an agent needs in the target cluster (AgentInstall), and what
// Spinnaker needs to see the account (SpinnakerAccount). It is the backend
// of spinops_agent_account and knows nothing about Terraform.
package attach
