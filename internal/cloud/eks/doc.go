// Package eks signs the bearer tokens Amazon EKS accepts for its Kubernetes
// API (aws-iam-authenticator's presigned sts:GetCallerIdentity). It needs
// only the AWS SDK's STS client, so what talks to clusters (internal/kube,
// the bridge, the agent) does not compile the S3 and IAM clients.
package eks
