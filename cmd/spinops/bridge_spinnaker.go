package main

import (
	"errors"
	"fmt"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/spinops/terraform-provider-spinops/internal/bridge"
)

// spinnakerAccounts builds the bridge's access to Spinnaker's
// SpinnakerAccounts from --spinnaker-namespace and --spinnaker-kubeconfig
// (nil when the namespace is not given: withdrawal from Spinnaker is off).
func spinnakerAccounts(namespace, kubeconfig string) (*bridge.SpinnakerAccounts, error) {
	if namespace == "" {
		if kubeconfig != "" {
			return nil, errors.New("--spinnaker-kubeconfig needs --spinnaker-namespace (the namespace of the SpinnakerAccounts)")
		}
		return nil, nil
	}
	var cfg *rest.Config
	var err error
	if kubeconfig != "" {
		cfg, err = clientcmd.BuildConfigFromFlags("", kubeconfig)
		if err != nil {
			return nil, fmt.Errorf("reading --spinnaker-kubeconfig %s: %w", kubeconfig, err)
		}
	} else if cfg, err = rest.InClusterConfig(); err != nil {
		return nil, fmt.Errorf("--spinnaker-namespace without --spinnaker-kubeconfig uses the in-cluster service account, which is not available here (%w): "+
			"run the bridge in Spinnaker's cluster or give --spinnaker-kubeconfig", err)
	}
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("a client for Spinnaker's cluster: %w", err)
	}
	return &bridge.SpinnakerAccounts{Client: client, Namespace: namespace}, nil
}
