//! Call audio storage behind the `object_store` interface: a local folder by
//! default; S3-compatible stores can be added without touching callers.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use object_store::local::LocalFileSystem;
use object_store::path::Path as BlobPath;
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};

/// A blob store failure; the cause is logged, not shown to clients.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// The storage folder could not be created.
    #[error("cannot create the blob folder {path}: {source}")]
    Folder {
        /// The folder.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The object store failed.
    #[error("blob store: {0}")]
    Store(#[from] object_store::Error),
}

/// Where call audio lives.
#[derive(Clone)]
pub struct BlobStore {
    store: Arc<dyn ObjectStore>,
    /// The local folder, for sweeping what crashed uploads left.
    root: std::path::PathBuf,
}

/// An upload in progress: chunks are written as they arrive, so memory stays
/// bounded by the part size, not the file size.
pub struct BlobUpload {
    writer: WriteMultipart,
    /// Bytes written so far.
    pub bytes: u64,
}

impl BlobStore {
    /// A store in a local folder, created if missing.
    pub fn local(folder: &Path) -> Result<Self, BlobError> {
        std::fs::create_dir_all(folder).map_err(|source| BlobError::Folder {
            path: folder.display().to_string(),
            source,
        })?;
        let store = LocalFileSystem::new_with_prefix(folder)?;
        Ok(Self {
            store: Arc::new(store),
            root: folder.to_path_buf(),
        })
    }

    /// Removes upload staging files (`<key>#<n>`, object_store's local
    /// multipart parts) older than `min_age`: what a process killed
    /// mid-upload left. Younger ones may belong to a live upload of another
    /// replica sharing the folder. Returns how many were removed.
    pub fn sweep_orphans(&self, min_age: std::time::Duration) -> std::io::Result<usize> {
        fn walk(
            dir: &Path,
            min_age: std::time::Duration,
            removed: &mut usize,
        ) -> std::io::Result<()> {
            for entry in std::fs::read_dir(dir)? {
                let entry = entry?;
                let kind = entry.file_type()?;
                if kind.is_dir() {
                    walk(&entry.path(), min_age, removed)?;
                } else if kind.is_file() && entry.file_name().to_string_lossy().contains('#') {
                    let age = entry.metadata()?.modified()?.elapsed().unwrap_or_default();
                    if age >= min_age {
                        std::fs::remove_file(entry.path())?;
                        *removed += 1;
                    }
                }
            }
            Ok(())
        }
        let mut removed = 0;
        walk(&self.root, min_age, &mut removed)?;
        Ok(removed)
    }

    /// Starts writing the blob `key`; nothing is visible until `finish`.
    pub async fn start_upload(&self, key: &str) -> Result<BlobUpload, BlobError> {
        let upload = self.store.put_multipart(&BlobPath::from(key)).await?;
        Ok(BlobUpload {
            writer: WriteMultipart::new(upload),
            bytes: 0,
        })
    }

    /// The whole blob.
    pub async fn read(&self, key: &str) -> Result<Bytes, BlobError> {
        Ok(self.store.get(&BlobPath::from(key)).await?.bytes().await?)
    }

    /// Removes the blob; a missing one is not an error.
    pub async fn delete(&self, key: &str) -> Result<(), BlobError> {
        match self.store.delete(&BlobPath::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }
}

impl BlobUpload {
    /// Appends a chunk.
    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), BlobError> {
        self.writer.wait_for_capacity(4).await?;
        self.writer.write(chunk);
        self.bytes += chunk.len() as u64;
        Ok(())
    }

    /// Makes the blob visible.
    pub async fn finish(self) -> Result<(), BlobError> {
        self.writer.finish().await?;
        Ok(())
    }

    /// Discards everything written.
    pub async fn abort(self) -> Result<(), BlobError> {
        self.writer.abort().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_upload_is_invisible_until_finished_and_gone_when_aborted()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let blobs = BlobStore::local(dir.path())?;
        let mut upload = blobs.start_upload("t/a.bin").await?;
        upload.write(b"hello ").await?;
        upload.write(b"world").await?;
        assert_eq!(upload.bytes, 11);
        assert!(blobs.read("t/a.bin").await.is_err());
        upload.finish().await?;
        assert_eq!(&blobs.read("t/a.bin").await?[..], b"hello world");

        let mut aborted = blobs.start_upload("t/b.bin").await?;
        aborted.write(b"partial").await?;
        aborted.abort().await?;
        assert!(blobs.read("t/b.bin").await.is_err());

        blobs.delete("t/a.bin").await?;
        // Deleting twice is fine.
        blobs.delete("t/a.bin").await?;
        assert!(blobs.read("t/a.bin").await.is_err());
        Ok(())
    }
}
