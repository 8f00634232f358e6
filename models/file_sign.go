package models

// Sign is the file's digest for a task's signMethod (MD5 or SHA256), as
// lowercase hex.
func (f *File) Sign(method string) string {
	if method == "MD5" {
		return f.MD5
	}
	return f.SHA256
}
