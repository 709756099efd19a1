package provider

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"

	"github.com/spinops/terraform-provider-spinops/internal/kube"
	"github.com/spinops/terraform-provider-spinops/internal/spinnaker"
)

// Shared by spinops_managed_spinnaker and spinops_zone.

var (
	spinVersionRegexp  = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+([-+.][0-9A-Za-z.-]+)?$`)
	spinDNSLabelRegexp = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)
)

// kubeClient resolves an object's connection (its own block or the
// provider's) and builds a client.
func spinKubeClient(ctx context.Context, data *providerData, override *kubernetesModel, p path.Path) (*kube.Client, diag.Diagnostics) {
	cfg, diags := data.restConfig(ctx, override, p)
	if diags.HasError() {
		return nil, diags
	}
	c, err := kube.NewClient(cfg)
	if err != nil {
		diags.AddError("Invalid Kubernetes connection", err.Error())
	}
	return c, diags
}

// spinYAMLMappingValidator checks that a string, or every value of a map, is a
// YAML mapping.
type spinYAMLMappingValidator struct{}

func (spinYAMLMappingValidator) Description(context.Context) string {
	return "must be a YAML mapping"
}

func (v spinYAMLMappingValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (spinYAMLMappingValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if err := spinnaker.ValidateYAMLObject(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid YAML", err.Error())
	}
}

func (spinYAMLMappingValidator) ValidateMap(_ context.Context, req validator.MapRequest, resp *validator.MapResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	for k, e := range req.ConfigValue.Elements() {
		s, ok := e.(interface {
			IsNull() bool
			IsUnknown() bool
			ValueString() string
		})
		if !ok || s.IsNull() || s.IsUnknown() {
			continue
		}
		if err := spinnaker.ValidateYAMLObject(s.ValueString()); err != nil {
			resp.Diagnostics.AddAttributeError(req.Path.AtMapKey(k), "Invalid YAML", fmt.Sprintf("%s: %s", k, err))
		}
	}
}

// spinDurationValidator checks a Go duration string.
type spinDurationValidator struct{}

func (spinDurationValidator) Description(context.Context) string {
	return "must be a duration such as 24h or 90m"
}

func (v spinDurationValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (spinDurationValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	d, err := time.ParseDuration(req.ConfigValue.ValueString())
	if err != nil || d < 0 {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid duration", fmt.Sprintf("%q must be a non-negative duration such as 24h, 90m or 30s.", req.ConfigValue.ValueString()))
	}
}
