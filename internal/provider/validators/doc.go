// Package validators holds the provider's attribute validators, one file
// and one table test each (as terraform-provider-aws's
// internal/framework/validators). A schema uses them instead of writing a
// regular expression or a check inline, so the same value is checked the
// same way, with the same message, everywhere.
package validators
