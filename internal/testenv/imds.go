package testenv

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
)

// InstanceIdentity is what the loopback instance metadata service tells pod-identity-webhook about
// "its" EC2 instance. With --compose-role-arn the webhook reads the account and the region from the
// instance identity document, and derives the partition from the region's prefix (cn- is aws-cn,
// us-gov- is aws-us-gov, ...), to expand a bare role name
// (https://github.com/aws/amazon-eks-pod-identity-webhook/blob/3bf80a34/main.go).
type InstanceIdentity struct {
	AccountID string
	Region    string
}

// imdsToken is the session token the stand-in hands out; the SDK only echoes it back.
const imdsToken = "irsa-guard-e2e-imds-token" //nolint:gosec // G101: a fixed test value, not a credential

// imdsServer is a loopback stand-in for the EC2 instance metadata service: IMDSv2's token endpoint and
// the instance identity document, which is all the AWS SDK's imds client needs for
// GetInstanceIdentityDocument. The webhook finds it through AWS_EC2_METADATA_SERVICE_ENDPOINT.
type imdsServer struct {
	URL    string
	server *http.Server
	served chan error
}

// startIMDS serves id on 127.0.0.1 until Close.
func startIMDS(id InstanceIdentity) (*imdsServer, error) {
	doc, err := json.Marshal(map[string]string{
		"accountId": id.AccountID, "region": id.Region, "availabilityZone": id.Region + "a",
		"instanceId": "i-0e2e0000000000000", "instanceType": "m7i.large", "architecture": "x86_64", "version": "2017-09-30",
	})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /latest/api/token", func(w http.ResponseWriter, r *http.Request) {
		ttl := r.Header.Get("X-Aws-Ec2-Metadata-Token-Ttl-Seconds")
		if _, err := strconv.Atoi(ttl); err != nil {
			http.Error(w, "missing or invalid X-aws-ec2-metadata-token-ttl-seconds", http.StatusBadRequest)
			return
		}
		w.Header().Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", ttl)
		_, _ = w.Write([]byte(imdsToken))
	})
	mux.HandleFunc("GET /latest/dynamic/instance-identity/document", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Aws-Ec2-Metadata-Token") != imdsToken {
			http.Error(w, "IMDSv2 token required", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(doc)
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for the instance metadata stand-in: %w", err)
	}
	s := &imdsServer{URL: "http://" + l.Addr().String(), server: &http.Server{Handler: mux}, served: make(chan error, 1)}
	go func() { s.served <- s.server.Serve(l) }()
	return s, nil
}

// Close stops the server, returning why it stopped serving if it was not Close.
func (s *imdsServer) Close() error {
	if s == nil {
		return nil
	}
	_ = s.server.Close()
	if err := <-s.served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("the instance metadata stand-in: %w", err)
	}
	return nil
}
