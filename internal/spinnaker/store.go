package spinnaker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"

	"github.com/spinops/terraform-provider-spinops/internal/kube"
)

// Names of the installation's objects in the operator namespace.
const (
	InstallationConfigMap   = "spinops-installation"
	InstallationCredentials = "spinops-installation-credentials"
	// InstallationKey is the key of InstallationConfigMap holding the JSON.
	InstallationKey = "installation.json"
)

// ErrInstallationNotFound is returned by LoadInstallation when the
// namespace holds no installation.
var ErrInstallationNotFound = errors.New("installation not found")

// OperatorRecord is how the installation's operator is managed. It is kept
// with the shared configuration (not in the operator's Deployment, which
// may be managed elsewhere) so that an imported installation keeps it.
type OperatorRecord struct {
	// Install: spinops applies the operator's CRDs, RBAC and Deployment.
	Install bool `json:"install"`
	// Image is the operator image without its tag; Version is the tag.
	Image        string `json:"image"`
	Version      string `json:"version"`
	HalyardImage string `json:"halyardImage"`
	ClusterWide  bool   `json:"clusterWide"`
	// Wait for the operator's Deployment to be available.
	Wait bool `json:"wait"`
}

// storedInstallation is the JSON document of the installation's ConfigMap:
// the shared configuration, which zones read, and the operator record.
type storedInstallation struct {
	*Installation
	Operator *OperatorRecord `json:"operator,omitempty"`
}

// SaveInstallation writes the installation's shared configuration, without
// an operator record (see SaveInstallationWithOperator).
func SaveInstallation(ctx context.Context, c *kube.Client, inst *Installation) error {
	return SaveInstallationWithOperator(ctx, c, inst, nil)
}

// SaveInstallationWithOperator writes the installation's shared
// configuration and, when op is not nil, how its operator is managed.
func SaveInstallationWithOperator(ctx context.Context, c *kube.Client, inst *Installation, op *OperatorRecord) error {
	b, err := json.MarshalIndent(storedInstallation{Installation: inst, Operator: op}, "", "  ")
	if err != nil {
		return err
	}
	cm := &unstructured.Unstructured{Object: map[string]any{"data": map[string]any{InstallationKey: string(b)}}}
	cm.SetAPIVersion("v1")
	cm.SetKind("ConfigMap")
	cm.SetName(InstallationConfigMap)
	cm.SetNamespace(inst.Namespace)
	cm.SetLabels(map[string]string{LabelManagedBy: managedBy, LabelInstallation: inst.ID})
	_, err = c.Apply(ctx, cm)
	return err
}

// LoadInstallation reads the installation of an operator namespace.
func LoadInstallation(ctx context.Context, cs kubernetes.Interface, namespace string) (*Installation, error) {
	inst, _, err := LoadInstallationWithOperator(ctx, cs, namespace)
	return inst, err
}

// LoadInstallationWithOperator reads the installation of an operator
// namespace and its operator record, which is nil for an installation
// saved without one.
func LoadInstallationWithOperator(ctx context.Context, cs kubernetes.Interface, namespace string) (*Installation, *OperatorRecord, error) {
	cm, err := cs.CoreV1().ConfigMaps(namespace).Get(ctx, InstallationConfigMap, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil, fmt.Errorf("no spinops installation in namespace %s (ConfigMap %s): %w", namespace, InstallationConfigMap, ErrInstallationNotFound)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("reading the installation (ConfigMap %s/%s): %w", namespace, InstallationConfigMap, err)
	}
	stored := storedInstallation{Installation: &Installation{}}
	if err := json.Unmarshal([]byte(cm.Data[InstallationKey]), &stored); err != nil {
		return nil, nil, fmt.Errorf("reading the installation (ConfigMap %s/%s): %w", namespace, InstallationConfigMap, err)
	}
	return stored.Installation, stored.Operator, nil
}

// WriteCredentials sets keys of the installation's credentials Secret,
// keeping the others.
func WriteCredentials(ctx context.Context, cs kubernetes.Interface, namespace string, values map[string][]byte) error {
	if len(values) == 0 {
		return nil
	}
	secrets := cs.CoreV1().Secrets(namespace)
	s, err := secrets.Get(ctx, InstallationCredentials, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		s = &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: InstallationCredentials, Namespace: namespace, Labels: map[string]string{LabelManagedBy: managedBy}},
			Type:       corev1.SecretTypeOpaque,
			Data:       values,
		}
		_, err = secrets.Create(ctx, s, metav1.CreateOptions{FieldManager: "spinops"})
	} else if err == nil {
		if s.Data == nil {
			s.Data = map[string][]byte{}
		}
		for k, v := range values {
			s.Data[k] = v
		}
		_, err = secrets.Update(ctx, s, metav1.UpdateOptions{FieldManager: "spinops"})
	}
	if err != nil {
		return fmt.Errorf("writing Secret %s/%s: %w", namespace, InstallationCredentials, err)
	}
	return nil
}

// ReadCredentials gathers the secret values the installation's configuration
// refers to, by key, from its credentials Secret (or the SQL password's own
// Secret). A missing value is an error naming it.
func ReadCredentials(ctx context.Context, cs kubernetes.Interface, inst *Installation) (map[string][]byte, error) {
	secrets := cs.CoreV1().Secrets(inst.Namespace)
	var own *corev1.Secret
	readOwn := func(key string) ([]byte, error) {
		if own == nil {
			s, err := secrets.Get(ctx, InstallationCredentials, metav1.GetOptions{})
			if err != nil {
				return nil, fmt.Errorf("reading Secret %s/%s: %w", inst.Namespace, InstallationCredentials, err)
			}
			own = s
		}
		v, ok := own.Data[key]
		if !ok {
			return nil, fmt.Errorf("installation credentials: Secret %s/%s has no key %s", inst.Namespace, InstallationCredentials, key)
		}
		return v, nil
	}
	out := map[string][]byte{}
	add := func(key string, read func() ([]byte, error)) error {
		v, err := read()
		if err != nil {
			return err
		}
		out[key] = v
		return nil
	}
	if sql := inst.SQL; sql != nil {
		err := add(KeySQLPassword, func() ([]byte, error) {
			if ref := sql.PasswordSecret; ref != nil {
				s, err := secrets.Get(ctx, ref.Name, metav1.GetOptions{})
				if err != nil {
					return nil, fmt.Errorf("reading the SQL password Secret %s/%s: %w", inst.Namespace, ref.Name, err)
				}
				v, ok := s.Data[ref.Key]
				if !ok {
					return nil, fmt.Errorf("password reference: Secret %s/%s has no key %s", inst.Namespace, ref.Name, ref.Key)
				}
				return v, nil
			}
			return readOwn(KeySQLPassword)
		})
		if err != nil {
			return nil, err
		}
	}
	if p := inst.Persistence; p != nil && p.S3 != nil && p.S3.HasSecretAccessKey {
		if err := add(KeyS3SecretAccessKey, func() ([]byte, error) { return readOwn(KeyS3SecretAccessKey) }); err != nil {
			return nil, err
		}
	}
	if a := inst.Auth; a != nil {
		if a.OAuth2 != nil && a.OAuth2.HasClientSecret {
			if err := add(KeyOAuth2ClientSecret, func() ([]byte, error) { return readOwn(KeyOAuth2ClientSecret) }); err != nil {
				return nil, err
			}
		}
		if s := a.SAML; s != nil && s.KeyStoreSecret != nil {
			ref := s.KeyStoreSecret
			err := add(KeySAMLKeyStore, func() ([]byte, error) {
				sec, err := secrets.Get(ctx, ref.Name, metav1.GetOptions{})
				if err != nil {
					return nil, fmt.Errorf("reading the SAML keystore Secret %s/%s: %w", inst.Namespace, ref.Name, err)
				}
				v, ok := sec.Data[ref.Key]
				if !ok {
					return nil, fmt.Errorf("SAML keystore reference: Secret %s/%s has no key %s", inst.Namespace, ref.Name, ref.Key)
				}
				return v, nil
			})
			if err != nil {
				return nil, err
			}
		}
		if s := a.SAML; s != nil && s.HasKeyStorePassword {
			if err := add(KeySAMLKeyStorePassword, func() ([]byte, error) { return readOwn(KeySAMLKeyStorePassword) }); err != nil {
				return nil, err
			}
		}
		if a.LDAP != nil && a.LDAP.HasManagerPassword {
			if err := add(KeyLDAPManagerPassword, func() ([]byte, error) { return readOwn(KeyLDAPManagerPassword) }); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// DeleteInstallation removes the installation's ConfigMap, credentials
// Secret and ledger.
func DeleteInstallation(ctx context.Context, cs kubernetes.Interface, namespace string) error {
	for _, del := range []func() error{
		func() error {
			return cs.CoreV1().ConfigMaps(namespace).Delete(ctx, InstallationConfigMap, metav1.DeleteOptions{})
		},
		func() error {
			return cs.CoreV1().Secrets(namespace).Delete(ctx, InstallationCredentials, metav1.DeleteOptions{})
		},
		func() error { return cs.CoreV1().ConfigMaps(namespace).Delete(ctx, LedgerName, metav1.DeleteOptions{}) },
	} {
		if err := del(); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting the installation in %s: %w", namespace, err)
		}
	}
	return nil
}
