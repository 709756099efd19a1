// Command kubectl is the real kubectl of the Kubernetes version the test
// environment runs (k8s.io/kubectl v0.37.2), built here because the machines
// the tests run on have no kubectl binary. The bridge's tests drive its
// per-account Kubernetes endpoint with it. It is its own module (nested in
// tools/k8s-testenv) so building it never invalidates the k8s-testenv build.
package main

import (
	"k8s.io/component-base/cli"
	"k8s.io/kubectl/pkg/cmd"
	"k8s.io/kubectl/pkg/cmd/util"
)

func main() {
	command := cmd.NewDefaultKubectlCommand()
	if err := cli.RunNoErrOutput(command); err != nil {
		util.CheckErr(err)
	}
}
