package main

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"slices"

	sigsyaml "sigs.k8s.io/yaml"

	"github.com/irsa-guard/irsa-guard/manifest"
)

// object is the part of a rendered manifest this check reads.
type object struct {
	Kind     string                `json:"kind"`
	Metadata struct{ Name string } `json:"metadata"`
	Data     map[string]string     `json:"data"`
	Webhooks []struct {
		Name         string `json:"name"`
		ClientConfig struct {
			CABundle string `json:"caBundle"`
		} `json:"clientConfig"`
	} `json:"webhooks"`
}

// checkTLS verifies the chart-generated TLS Secret against the webhook configurations in a render.
func checkTLS(rendered []byte, dnsNames, ips []string) error {
	objs, err := decodeAll(rendered)
	if err != nil {
		return err
	}
	var secret *object
	var webhookCAs []string
	for i := range objs {
		o := &objs[i]
		switch o.Kind {
		case "Secret":
			if secret != nil {
				return fmt.Errorf("two Secrets rendered (%s, %s): expected only the TLS Secret", secret.Metadata.Name, o.Metadata.Name)
			}
			secret = o
		case "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration":
			for _, w := range o.Webhooks {
				if w.ClientConfig.CABundle == "" {
					return fmt.Errorf("%s %s webhook %s has no caBundle", o.Kind, o.Metadata.Name, w.Name)
				}
				webhookCAs = append(webhookCAs, w.ClientConfig.CABundle)
			}
		}
	}
	if secret == nil {
		return errors.New("no TLS Secret rendered (certManager.enabled or tls.existingSecret set?)")
	}
	if len(webhookCAs) == 0 {
		return errors.New("no webhook configurations rendered")
	}
	for _, ca := range webhookCAs {
		if ca != secret.Data["ca.crt"] {
			return errors.New("a webhook's caBundle differs from the Secret's ca.crt: the API server would not trust the server")
		}
	}
	ca, err := parseCert(secret.Data["ca.crt"], "ca.crt")
	if err != nil {
		return err
	}
	leaf, err := parseCert(secret.Data["tls.crt"], "tls.crt")
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		return fmt.Errorf("tls.crt does not verify against ca.crt for server auth: %w", err)
	}
	for _, name := range dnsNames {
		if !slices.Contains(leaf.DNSNames, name) {
			return fmt.Errorf("tls.crt has no DNS name %q (it has %v)", name, leaf.DNSNames)
		}
	}
	for _, s := range ips {
		ip := net.ParseIP(s)
		if ip == nil {
			return fmt.Errorf("-ip %q is not an IP address", s)
		}
		if !slices.ContainsFunc(leaf.IPAddresses, ip.Equal) {
			return fmt.Errorf("tls.crt has no IP address %s (it has %v)", s, leaf.IPAddresses)
		}
	}
	if _, err := base64.StdEncoding.DecodeString(secret.Data["tls.key"]); err != nil || secret.Data["tls.key"] == "" {
		return errors.New("tls.key is missing or not base64")
	}
	return nil
}

func decodeAll(rendered []byte) ([]object, error) {
	var objs []object
	return objs, decodeInto(rendered, &objs)
}

// decodeInto decodes every document of a multi-document render into *out, skipping empty ones.
func decodeInto[T interface{ kind() string }](rendered []byte, out *[]T) error {
	for i, d := range manifest.SplitDocuments(rendered) {
		var o T
		if err := sigsyaml.Unmarshal(d.Body, &o); err != nil {
			return fmt.Errorf("decode rendered document %d (line %d): %w", i+1, d.Line, err)
		}
		if o.kind() != "" {
			*out = append(*out, o)
		}
	}
	return nil
}

func (o object) kind() string     { return o.Kind }
func (d deployment) kind() string { return d.Kind }

func parseCert(b64, field string) (*x509.Certificate, error) {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("the Secret's %s is not base64: %w", field, err)
	}
	block, _ := pem.Decode(raw)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("the Secret's %s is not a PEM certificate", field)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("the Secret's %s: %w", field, err)
	}
	return cert, nil
}
