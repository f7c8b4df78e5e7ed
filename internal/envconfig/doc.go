// Package envconfig reads the AI_LIB_* environment variables. It is the
// only place in ailib that reads them, so the rules are uniform: variables
// are read when a function here is called (never at import time, so
// t.Setenv works), an empty value counts as unset, and a malformed or
// out-of-range value is an error naming the variable and its value. Every
// problem is reported, joined with errors.Join.
//
// No variable read here ever changes where requests (and keys) are sent.
package envconfig
