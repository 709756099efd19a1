package kube

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// ToUnstructured turns objects into what server-side apply takes: typed
// objects are converted (an *unstructured.Unstructured is used as it is),
// and the fields a typed object always carries but an applied manifest
// must not (status, and the zero creationTimestamp of the object and of a
// pod or job template, which would make the apply claim them) are dropped.
func ToUnstructured(objs ...runtime.Object) ([]*unstructured.Unstructured, error) {
	out := make([]*unstructured.Unstructured, 0, len(objs))
	for _, o := range objs {
		var m map[string]any
		if u, ok := o.(*unstructured.Unstructured); ok {
			m = u.Object
		} else {
			var err error
			if m, err = runtime.DefaultUnstructuredConverter.ToUnstructured(o); err != nil {
				return nil, fmt.Errorf("converting %T: %w", o, err)
			}
		}
		delete(m, "status")
		for _, p := range [][]string{
			{"metadata"},
			{"spec", "template", "metadata"},
			{"spec", "jobTemplate", "metadata"},
			{"spec", "jobTemplate", "spec", "template", "metadata"},
		} {
			unstructured.RemoveNestedField(m, append(p, "creationTimestamp")...)
		}
		out = append(out, &unstructured.Unstructured{Object: m})
	}
	return out, nil
}
