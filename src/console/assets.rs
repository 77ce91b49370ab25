//! The console's files, embedded at compile time: the binary serves them
//! with no web server and no build step beside cargo (plain ES modules, no
//! bundler).

/// One embedded file.
pub struct Asset {
    pub bytes: &'static [u8],
    pub content_type: &'static str,
}

macro_rules! assets {
    ($($path:literal => $content_type:literal),* $(,)?) => {
        const ASSETS: &[(&str, Asset)] = &[
            $((
                $path,
                Asset {
                    bytes: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/console/", $path)),
                    content_type: $content_type,
                },
            )),*
        ];
    };
}

assets! {
    "index.html" => "text/html; charset=utf-8",
    "style.css" => "text/css; charset=utf-8",
    "js/app.js" => "text/javascript; charset=utf-8",
    "js/audio.js" => "text/javascript; charset=utf-8",
    "js/chart.js" => "text/javascript; charset=utf-8",
    "js/dom.js" => "text/javascript; charset=utf-8",
    "js/grpc.js" => "text/javascript; charset=utf-8",
    "js/i18n.js" => "text/javascript; charset=utf-8",
    "js/proto.js" => "text/javascript; charset=utf-8",
    "js/views/calls.js" => "text/javascript; charset=utf-8",
    "js/views/coaching.js" => "text/javascript; charset=utf-8",
    "js/views/queue.js" => "text/javascript; charset=utf-8",
    "js/views/rubrics.js" => "text/javascript; charset=utf-8",
    "js/views/scorecard.js" => "text/javascript; charset=utf-8",
    "js/views/signin.js" => "text/javascript; charset=utf-8",
}

/// The file at `path` (relative to console/), if the console has one.
pub fn find(path: &str) -> Option<&'static Asset> {
    ASSETS
        .iter()
        .find(|(name, _)| *name == path)
        .map(|(_, asset)| asset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_console_file_is_embedded() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("console");
        let mut on_disk = Vec::new();
        let mut pending = vec![dir.clone()];
        while let Some(folder) = pending.pop() {
            for entry in std::fs::read_dir(&folder).expect("console folder") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    pending.push(path);
                } else {
                    let relative = path.strip_prefix(&dir).expect("inside");
                    on_disk.push(relative.to_string_lossy().replace('\\', "/"));
                }
            }
        }
        for file in &on_disk {
            assert!(
                find(file).is_some(),
                "console/{file} is not in the asset list"
            );
        }
        assert_eq!(on_disk.len(), ASSETS.len());
    }
}
