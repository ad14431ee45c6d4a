package awsstate

import "os"

// testState is a small realistic world: the caller's account with an IRSA role and the cluster's
// provider, and a second account reachable through a reader role (the fakeaws tests serve it too).
var testState = mustReadTestdata("testdata/world.yaml")

func mustReadTestdata(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	return string(b)
}

const (
	testAccount  = "111122223333"
	otherAccount = "444455556666"
)
