package kube

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Access is one "may I?" question: a verb on a resource, in a namespace or
// cluster-wide (Namespace empty).
type Access struct {
	Verb      string
	Group     string
	Resource  string
	Namespace string
}

// String reads like RBAC: "create deployments.apps in namespace x".
func (a Access) String() string {
	r := a.Resource
	if a.Group != "" {
		r += "." + a.Group
	}
	where := "cluster-wide"
	if a.Namespace != "" {
		where = "in namespace " + a.Namespace
	}
	return fmt.Sprintf("%s %s %s", a.Verb, r, where)
}

// MissingAccess asks the API server, through one SelfSubjectAccessReview
// per question (concurrently), which of want the client's identity may not
// do. A failed review is returned as a *RequestError.
func (c *Client) MissingAccess(ctx context.Context, want []Access) ([]Access, error) {
	allowed := make([]bool, len(want))
	errs := make([]error, len(want))
	var wg sync.WaitGroup
	for i, a := range want {
		wg.Go(func() {
			review, err := c.Clientset.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx,
				&authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
					ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: a.Verb, Group: a.Group, Resource: a.Resource, Namespace: a.Namespace},
				}}, metav1.CreateOptions{})
			if err != nil {
				errs[i] = err
				return
			}
			allowed[i] = review.Status.Allowed
		})
	}
	wg.Wait()
	var missing []Access
	for i, a := range want {
		if errs[i] != nil {
			return nil, newRequestError(http.MethodPost, strings.TrimSuffix(c.Config.Host, "/")+"/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", errs[i])
		}
		if !allowed[i] {
			missing = append(missing, a)
		}
	}
	return missing, nil
}
