package validators

import "strings"

// Partition is one AWS partition: the second field of every ARN in it. The list is the
// partitions table of botocore's partitions.json
// (https://github.com/boto/botocore/blob/develop/botocore/data/partitions.json).
type Partition struct {
	Name      string // "aws", "aws-cn", ...
	DNSSuffix string // the suffix of its service endpoints, e.g. amazonaws.com.cn
}

// KnownPartitions returns the partitions an IAM role ARN may name. It returns a fresh slice so
// callers cannot change the table for everyone; adding a partition is a one-line data change.
func KnownPartitions() []Partition {
	return []Partition{
		{Name: "aws", DNSSuffix: "amazonaws.com"},
		{Name: "aws-cn", DNSSuffix: "amazonaws.com.cn"},
		{Name: "aws-us-gov", DNSSuffix: "amazonaws.com"},
		{Name: "aws-iso", DNSSuffix: "c2s.ic.gov"},
		{Name: "aws-iso-b", DNSSuffix: "sc2s.sgov.gov"},
		{Name: "aws-iso-e", DNSSuffix: "cloud.adc-e.uk"},
		{Name: "aws-iso-f", DNSSuffix: "csp.hci.ic.gov"},
		{Name: "aws-eusc", DNSSuffix: "amazonaws.eu"},
	}
}

// LookupPartition finds a partition by its exact (case-sensitive) name, as IAM does.
func LookupPartition(name string) (Partition, bool) {
	for _, p := range KnownPartitions() {
		if p.Name == name {
			return p, true
		}
	}
	return Partition{}, false
}

// nearestPartition guesses which partition a misspelt one meant ("AWS", "aws-gov", "aws-china"),
// so an error can show the corrected ARN. It returns "" when nothing is close enough to guess.
func nearestPartition(name string) string {
	lower := strings.ToLower(strings.TrimSpace(name))
	switch lower {
	case "aws-china", "china", "cn":
		return "aws-cn"
	case "aws-gov", "aws-govcloud", "aws-us-govcloud", "govcloud", "us-gov":
		return "aws-us-gov"
	}
	best, bestDist := "", 3 // at most two edits away
	for _, p := range KnownPartitions() {
		if d := editDistance(lower, p.Name); d < bestDist {
			best, bestDist = p.Name, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b in runes. The typo checks use it to
// tell "one key mistyped" from "a different key altogether"; inputs are short (annotation keys
// are at most 316 bytes), so the quadratic cost is irrelevant.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
