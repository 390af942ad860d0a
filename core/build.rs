//! Marks a build inside the repository (`cfg(repo_readme)`), where the
//! repository's README.md, whose examples run as doc tests, sits one level
//! up; a build of the packaged crate has only its own README.md.
fn main() {
    println!("cargo:rustc-check-cfg=cfg(repo_readme)");
    println!("cargo:rerun-if-changed=../README.md");
    if std::path::Path::new("../README.md").exists() {
        println!("cargo:rustc-cfg=repo_readme");
    }
}
