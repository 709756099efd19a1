package validators

import (
	"context"
	"fmt"
	"regexp"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// gcpServiceAccountRegexp is a Google service account's e-mail address, as
// GKE's Workload Identity annotation takes it: one a project made
// (NAME@PROJECT.iam.gserviceaccount.com), or a default one
// (NUMBER-compute@developer…, PROJECT@appspot…).
var gcpServiceAccountRegexp = regexp.MustCompile(`^[a-z0-9][-a-z0-9]{4,62}@([a-z][-a-z0-9.:]{4,61}\.iam|developer|appspot)\.gserviceaccount\.com$`)

// Annotation keys whose values a cloud reads: a typo there gives a pod no
// cloud identity at all, which shows only as access denied at run time.
const (
	IRSARoleAnnotation         = "eks.amazonaws.com/role-arn"
	WorkloadIdentityAnnotation = "iam.gke.io/gcp-service-account"
)

// ServiceAccountAnnotations checks annotations for a Kubernetes
// ServiceAccount: keys and total size as the API server checks them, and
// the values of IRSA's role and Workload Identity's service account.
func ServiceAccountAnnotations() validator.Map { return serviceAccountAnnotations{} }

type serviceAccountAnnotations struct{}

func (serviceAccountAnnotations) Description(context.Context) string {
	return "Kubernetes annotations; eks.amazonaws.com/role-arn must be an IAM role ARN and iam.gke.io/gcp-service-account a Google service account's e-mail"
}

func (v serviceAccountAnnotations) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (serviceAccountAnnotations) ValidateMap(_ context.Context, req validator.MapRequest, resp *validator.MapResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	// Keys are checked whatever their values: a value known only at apply
	// (another resource's output) must not hide a key Kubernetes refuses.
	known, keys := map[string]string{}, map[string]string{}
	for k, v := range req.ConfigValue.Elements() {
		keys[k] = ""
		s, ok := v.(types.String)
		if !ok || s.IsUnknown() {
			continue
		}
		if s.IsNull() {
			resp.Diagnostics.AddAttributeError(req.Path.AtMapKey(k), "Null annotation", fmt.Sprintf("The annotation %q has no value: give it one or leave the key out.", k))
			continue
		}
		known[k], keys[k] = s.ValueString(), s.ValueString()
	}
	for _, e := range apivalidation.ValidateAnnotations(keys, field.NewPath("metadata", "annotations")) {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid annotation", fmt.Sprintf("Kubernetes would refuse these annotations: %s", e.ErrorBody()))
	}
	if arn, ok := known[IRSARoleAnnotation]; ok && !roleARNRegexp.MatchString(arn) {
		resp.Diagnostics.AddAttributeError(req.Path.AtMapKey(IRSARoleAnnotation), "Invalid IRSA role",
			fmt.Sprintf("%s must be an IAM role ARN (arn:aws:iam::123456789012:role/NAME), got %q: with anything else EKS gives the pods no AWS credentials.", IRSARoleAnnotation, arn))
	}
	if email, ok := known[WorkloadIdentityAnnotation]; ok && !gcpServiceAccountRegexp.MatchString(email) {
		resp.Diagnostics.AddAttributeError(req.Path.AtMapKey(WorkloadIdentityAnnotation), "Invalid Workload Identity service account",
			fmt.Sprintf("%s must be a Google service account's e-mail (NAME@PROJECT.iam.gserviceaccount.com), got %q: with anything else GKE gives the pods no Google credentials.", WorkloadIdentityAnnotation, email))
	}
}
