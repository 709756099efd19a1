// Package aws holds spinops' thin helpers over aws-sdk-go-v2: EKS
// authentication tokens today, IAM and S3 helpers later. It knows nothing
// about Terraform or Kubernetes client libraries.
package aws
