package aws

import (
	"net/url"
	"strings"
	"testing"
)

func TestCanonicalPolicy(t *testing.T) {
	in := `{
	  "Statement": {
	    "Effect": "Allow",
	    "Action": "s3:GetObject",
	    "Resource": ["arn:aws:s3:::b/*", "arn:aws:s3:::a/*", "arn:aws:s3:::a/*"],
	    "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}, "Bool": {"aws:SecureTransport": true}}
	  },
	  "Version": "2012-10-17"
	}`
	want := `{"Statement":[{"Action":["s3:GetObject"],"Condition":{"Bool":{"aws:SecureTransport":[true]},"IpAddress":{"aws:SourceIp":["10.0.0.0/8"]}},` +
		`"Effect":"Allow","Resource":["arn:aws:s3:::a/*","arn:aws:s3:::b/*"]}],"Version":"2012-10-17"}`
	got, err := CanonicalPolicy(in)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("CanonicalPolicy:\n got %s\nwant %s", got, want)
	}
	again, _ := CanonicalPolicy(got)
	if again != got {
		t.Errorf("not idempotent:\n%s\n%s", got, again)
	}
	// No HTML escaping: conditions with < > & stay readable.
	got, _ = CanonicalPolicy(`{"Statement":[{"Condition":{"StringLike":{"k":"a&b<c>"}}}]}`)
	if !strings.Contains(got, `a&b<c>`) {
		t.Errorf("HTML-escaped: %s", got)
	}
	// The wildcard principal stays a scalar.
	got, _ = CanonicalPolicy(`{"Statement":[{"Principal":"*","Effect":"Allow","Action":"sts:AssumeRole"}]}`)
	if !strings.Contains(got, `"Principal":"*"`) {
		t.Errorf("wildcard principal changed: %s", got)
	}
}

func TestPoliciesEquivalent(t *testing.T) {
	base := `{"Version":"2012-10-17","Statement":[` +
		`{"Sid":"A","Effect":"Allow","Action":["ec2:DescribeRegions","ec2:DescribeAvailabilityZones"],"Resource":"*"},` +
		`{"Sid":"B","Effect":"Allow","Action":"sts:AssumeRole","Resource":["arn:aws:iam::1:role/x"]}]}`
	same := []struct{ name, doc string }{
		{"statements reordered, arrays vs scalars, whitespace", `{
			"Statement": [
			  {"Resource": "arn:aws:iam::1:role/x", "Action": ["sts:AssumeRole"], "Effect": "Allow", "Sid": "B"},
			  {"Sid": "A", "Effect": "Allow", "Resource": ["*"], "Action": ["ec2:DescribeAvailabilityZones", "ec2:DescribeRegions", "ec2:DescribeRegions"]}
			],
			"Version": "2012-10-17"}`},
		{"action case", strings.Replace(base, "sts:AssumeRole", "STS:assumerole", 1)},
		{"URL-encoded as IAM returns it", url.QueryEscape(base)},
	}
	for _, s := range same {
		if !PoliciesEquivalent(base, s.doc) {
			t.Errorf("%s: want equivalent", s.name)
		}
	}
	different := []struct{ name, doc string }{
		{"action added", strings.Replace(base, `"sts:AssumeRole"`, `["sts:AssumeRole","sts:TagSession"]`, 1)},
		{"resource widened", strings.Replace(base, `arn:aws:iam::1:role/x`, `*`, 1)},
		{"effect flipped", strings.Replace(base, `"Sid":"B","Effect":"Allow"`, `"Sid":"B","Effect":"Deny"`, 1)},
		{"statement removed", `{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":["ec2:DescribeRegions","ec2:DescribeAvailabilityZones"],"Resource":"*"}]}`},
		{"not JSON", `nope`},
	}
	for _, d := range different {
		if PoliciesEquivalent(base, d.doc) {
			t.Errorf("%s: want not equivalent", d.name)
		}
	}
	if !PoliciesEquivalent(`{"Statement":[{"Principal":"*"}]}`, `{"Statement":[{"Principal":{"AWS":["*"]}}]}`) {
		t.Error(`"Principal": "*" should equal {"AWS": "*"}`)
	}
}

func TestDecodePolicyDocument(t *testing.T) {
	doc := `{"Statement":[{"Resource":"arn:aws:iam::1:role/a+b"}]}`
	got, err := DecodePolicyDocument(doc)
	if err != nil || got != doc {
		t.Errorf("plain JSON changed: %q, %v", got, err)
	}
	got, err = DecodePolicyDocument(url.QueryEscape(doc))
	if err != nil || got != doc {
		t.Errorf("decoded %q, %v; want %q", got, err, doc)
	}
}

func TestValidateIdentityPolicy(t *testing.T) {
	valid := []string{
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::spinnaker"}]}`,
		`{"Version":"2012-10-17","Id":"x","Statement":{"Sid":"One","Effect":"Deny","NotAction":["iam:*"],"NotResource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}}`,
	}
	for _, doc := range valid {
		if err := ValidateIdentityPolicy(doc); err != nil {
			t.Errorf("%s: %v", doc, err)
		}
	}
	invalid := []struct{ doc, want string }{
		{`not json`, "not a JSON object"},
		{`[1,2]`, "not a JSON object"},
		{`null`, "not a JSON object"},
		{`{"Version":"2012-10-17","Statement":[]} {}`, "trailing data"},
		{`{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`, `"Version" is missing`},
		{`{"Version":"2020-01-01","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`, `use "2012-10-17"`},
		{`{"Version":"2012-10-17"}`, `"Statement" is missing`},
		{`{"Version":"2012-10-17","Statement":[]}`, `"Statement" is empty`},
		{`{"Version":"2012-10-17","Statement":"x"}`, `"Statement" must be`},
		{`{"Version":"2012-10-17","Statment":[]}`, `unknown top-level element "Statment"`},
		{`{"Version":"2012-10-17","Statement":[{"Effect":"allow","Action":"s3:*","Resource":"*"}]}`, `"Effect" must be`},
		{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Resource":"*"}]}`, `needs "Action"`},
		{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","NotAction":"iam:*","Resource":"*"}]}`, `both "Action" and "NotAction"`},
		{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":[],"Resource":"*"}]}`, `"Action" is empty`},
		{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":[1],"Resource":"*"}]}`, `"Action" must be`},
		{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*"}]}`, `needs "Resource"`},
		{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}]}`, `"Principal" is not allowed`},
		{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":"x"}]}`, `"Condition" must be`},
		{`{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":"s3:*","Resource":"*"},{"Sid":"A","Effect":"Allow","Action":"s3:*","Resource":"*"}]}`, `used twice`},
	}
	for _, tt := range invalid {
		err := ValidateIdentityPolicy(tt.doc)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want it to contain %q", tt.doc, err, tt.want)
		}
	}
}
