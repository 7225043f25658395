//! Health of Kubernetes objects: kstatus rules plus one pure function per kind.
