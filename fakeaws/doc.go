// Package fakeaws is a local AWS for tests and development: it speaks the real wire protocols of
// IAM (Query/XML), STS (Query/XML) and EKS (REST-JSON), answering from an AWS state file (package
// awsstate), with fault injection, and an HTTPS OIDC issuer with a generated certificate chain.
// Tests point the real aws-sdk-go-v2 clients at it so that a decoding bug shows up as a failing
// test rather than in a cluster. It is never linked into the irsa-guard binary.
package fakeaws
