// Command piw is `make piw`: it builds the real amazon-eks-pod-identity-webhook from
// ../shared/third_party (or $IRSA_GUARD_PIW_SOURCE) into .cache/piw/<source hash>/ exactly as the e2e
// suite and the demo would, and prints the binary's path. A clone without the source is not an error:
// the suite and the demo then use the stand-in, and this says so.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/irsa-guard/irsa-guard/internal/testenv"
)

func main() {
	if os.Getenv(testenv.PIWInjectorEnv) == string(testenv.InjectorStandIn) {
		fmt.Fprintf(os.Stderr, "piw: %s=%s: not building the real pod-identity-webhook\n", testenv.PIWInjectorEnv, testenv.InjectorStandIn)
		return
	}
	root, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, "piw:", err)
		os.Exit(1)
	}
	bin, err := testenv.BuildPodIdentityWebhook(context.Background(), root)
	switch {
	case errors.Is(err, testenv.ErrPIWSourceMissing) && os.Getenv(testenv.PIWInjectorEnv) != string(testenv.InjectorReal):
		fmt.Fprintf(os.Stderr, "piw: %v; the e2e suite and the demo use the stand-in pod-identity-webhook\n", err)
	case err != nil:
		fmt.Fprintln(os.Stderr, "piw:", err)
		os.Exit(1)
	default:
		fmt.Println(bin)
	}
}
