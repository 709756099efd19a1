package provider

import "regexp"

var (
	// arnRegexp matches an IAM role ARN in any partition.
	arnRegexp = regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$`)
	// urlRegexp matches an absolute http(s) URL.
	urlRegexp = regexp.MustCompile(`^https?://[^\s/]+`)
)
