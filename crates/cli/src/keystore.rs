//! Encrypted key files, in the spirit of Ethereum's keystore v3: one JSON
//! file per key, the secret sealed with a password-derived key.
//!
//! ```json
//! {
//!   "version": 1,
//!   "address": "0x…",
//!   "public_key": "…64 hex…",
//!   "crypto": {
//!     "kdf": "scrypt",
//!     "kdfparams": { "log_n": 18, "r": 8, "p": 1, "dklen": 32, "salt": "…64 hex…" },
//!     "cipher": "xchacha20-poly1305",
//!     "cipherparams": { "nonce": "…48 hex…" },
//!     "ciphertext": "…96 hex: 32-byte ed25519 seed + 16-byte tag…"
//!   }
//! }
//! ```
//!
//! Differences from v3, on purpose: an AEAD replaces AES-CTR + a separate
//! Keccak MAC, and the AEAD's associated data is `address ‖ public key`, so
//! editing the file's address or key makes decryption fail instead of
//! silently pointing at another account.

use anyhow::{Context, Result, anyhow, bail};
use chacha20poly1305::{
    KeyInit, XChaCha20Poly1305,
    aead::{Aead, Payload},
};
use serde::{Deserialize, Serialize};
use std::{
    path::{Path, PathBuf},
    sync::OnceLock,
};
use terrace_primitives::{
    Address, PrivateKey, PublicKey,
    codec::{from_hex, to_hex},
    keys::{Signer as _, private_key_from_seed, private_key_seed},
};

/// scrypt cost: log2(N) = 18, r = 8, p = 1 — Ethereum's "standard" setting
/// (256 MiB, about a second). Tests use [`KdfCost::fast`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfCost {
    /// log2 of scrypt's N.
    pub log_n: u8,
}

impl KdfCost {
    /// The default for real keys.
    pub const STANDARD: Self = Self { log_n: 18 };
    /// Cheap, for tests and throwaway devnets only.
    pub fn fast() -> Self {
        Self { log_n: 10 }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct KdfParams {
    log_n: u8,
    r: u32,
    p: u32,
    dklen: u32,
    salt: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct CipherParams {
    nonce: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Crypto {
    kdf: String,
    kdfparams: KdfParams,
    cipher: String,
    cipherparams: CipherParams,
    ciphertext: String,
}

/// A key file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyFile {
    version: u32,
    /// What `--from` and `--to` may call it (outside the sealed part: a
    /// label, not a claim about the key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The key's address.
    pub address: Address,
    /// The public key, hex.
    pub public_key: String,
    crypto: Crypto,
}

fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| anyhow!("OS randomness unavailable: {e}"))?;
    Ok(b)
}

fn derive_key(password: &[u8], salt: &[u8], log_n: u8, r: u32, p: u32) -> Result<[u8; 32]> {
    if !(1..=24).contains(&log_n) || r == 0 || r > 32 || p == 0 || p > 16 {
        bail!("keystore has unreasonable scrypt parameters (log_n {log_n}, r {r}, p {p})");
    }
    let params =
        scrypt::Params::new(log_n, r, p).map_err(|e| anyhow!("bad scrypt parameters: {e}"))?;
    let mut out = [0u8; 32];
    scrypt::scrypt(password, salt, &params, &mut out).map_err(|e| anyhow!("scrypt failed: {e}"))?;
    Ok(out)
}

fn aad(address: &Address, public_key: &PublicKey) -> Vec<u8> {
    let mut v = address.as_bytes().to_vec();
    v.extend_from_slice(public_key.as_ref());
    v
}

impl KeyFile {
    /// Seals `key` under `password`.
    pub fn seal(key: &PrivateKey, password: &[u8], cost: KdfCost) -> Result<Self> {
        let public_key = key.public_key();
        let address = Address::from_public_key(&public_key);
        let salt: [u8; 32] = random_bytes()?;
        let nonce: [u8; 24] = random_bytes()?;
        let (r, p) = (8, 1);
        let dk = derive_key(password, &salt, cost.log_n, r, p)?;
        let cipher =
            XChaCha20Poly1305::new_from_slice(&dk).map_err(|_| anyhow!("bad key length"))?;
        let seed = private_key_seed(key);
        let ciphertext = cipher
            .encrypt(
                &chacha20poly1305::aead::Nonce::<XChaCha20Poly1305>::from(nonce),
                Payload {
                    msg: &seed.0,
                    aad: &aad(&address, &public_key),
                },
            )
            .map_err(|_| anyhow!("encryption failed"))?;
        Ok(Self {
            version: 1,
            name: None,
            address,
            public_key: to_hex(public_key.as_ref()),
            crypto: Crypto {
                kdf: "scrypt".into(),
                kdfparams: KdfParams {
                    log_n: cost.log_n,
                    r,
                    p,
                    dklen: 32,
                    salt: to_hex(&salt),
                },
                cipher: "xchacha20-poly1305".into(),
                cipherparams: CipherParams {
                    nonce: to_hex(&nonce),
                },
                ciphertext: to_hex(&ciphertext),
            },
        })
    }

    /// The public key the file names (no password needed).
    pub fn public_key(&self) -> Result<PublicKey> {
        let bytes = from_hex(&self.public_key).context("public_key is not hex")?;
        <PublicKey as commonware_codec::DecodeExt<()>>::decode(commonware_codec::Copying(&bytes))
            .map_err(|e| anyhow!("public_key: {e}"))
    }

    /// Opens the file with `password`.
    pub fn open(&self, password: &[u8]) -> Result<PrivateKey> {
        if self.version != 1 {
            bail!("unsupported keystore version {}", self.version);
        }
        let c = &self.crypto;
        if c.kdf != "scrypt" || c.cipher != "xchacha20-poly1305" || c.kdfparams.dklen != 32 {
            bail!(
                "unsupported keystore crypto: kdf {}, cipher {}",
                c.kdf,
                c.cipher
            );
        }
        let salt = from_hex(&c.kdfparams.salt).context("salt is not hex")?;
        let nonce = from_hex(&c.cipherparams.nonce)
            .filter(|n| n.len() == 24)
            .context("nonce must be 24 bytes of hex")?;
        let ciphertext = from_hex(&c.ciphertext).context("ciphertext is not hex")?;
        let public_key = self.public_key()?;
        let dk = derive_key(
            password,
            &salt,
            c.kdfparams.log_n,
            c.kdfparams.r,
            c.kdfparams.p,
        )?;
        let cipher =
            XChaCha20Poly1305::new_from_slice(&dk).map_err(|_| anyhow!("bad key length"))?;
        let seed = cipher
            .decrypt(
                &chacha20poly1305::aead::Nonce::<XChaCha20Poly1305>::try_from(nonce.as_slice())
                    .map_err(|_| anyhow!("nonce must be 24 bytes"))?,
                Payload {
                    msg: &ciphertext,
                    aad: &aad(&self.address, &public_key),
                },
            )
            .map_err(|_| anyhow!("wrong password, or the key file was modified"))?;
        let seed: [u8; 32] = seed
            .try_into()
            .map_err(|_| anyhow!("sealed seed is not 32 bytes"))?;
        let key = private_key_from_seed(seed);
        if key.public_key() != public_key {
            bail!("key file is inconsistent: the sealed key does not match public_key");
        }
        Ok(key)
    }

    /// Writes the file into `dir` as `<address>.json`, readable by the owner only.
    pub fn write_to(&self, dir: &Path) -> Result<PathBuf> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let path = dir.join(format!("{}.json", self.address));
        self.write_as(&path)?;
        Ok(path)
    }

    /// Writes the file at `path` (never over an existing one), readable by
    /// the owner only.
    pub fn write_as(&self, path: &Path) -> Result<()> {
        if path.exists() {
            bail!("{} already exists", path.display());
        }
        let json = serde_json::to_string_pretty(self)?;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            opts.mode(0o600);
        }
        use std::io::Write as _;
        let mut f = opts
            .open(path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        f.write_all(json.as_bytes())?;
        f.sync_all()?;
        Ok(())
    }

    /// Reads a key file.
    pub fn read(path: &Path) -> Result<Self> {
        let meta =
            std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
        if meta.len() > 64 * 1024 {
            bail!("{} is too large to be a key file", path.display());
        }
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("{} is not a key file", path.display()))
    }
}

/// Checks a key's name: 1–32 letters, digits, `-` or `_`, starting with a
/// letter, and not a devnet key's name (`devN`, `validatorN`).
pub fn check_name(name: &str) -> Result<()> {
    let ok = (1..=32).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !ok {
        bail!("key name {name:?}: 1–32 letters, digits, - or _, starting with a letter");
    }
    for prefix in ["dev", "validator"] {
        if name
            .strip_prefix(prefix)
            .is_some_and(|n| n.parse::<u32>().is_ok())
        {
            bail!("key name {name:?} is a devnet key's name");
        }
    }
    Ok(())
}

/// The key file `who` names in `dir`: its address (`0x…`) or its name.
pub fn find(dir: &Path, who: &str) -> Result<Option<KeyFile>> {
    let keys = list(dir)?.into_iter().map(|(_, k)| k);
    if who.starts_with("0x") {
        let address: Address = who.parse()?;
        return Ok(keys.into_iter().find(|k| k.address == address));
    }
    Ok(keys.into_iter().find(|k| k.name.as_deref() == Some(who)))
}

/// Where keys live: `TERRACE_KEYSTORE`, else `$TERRACE_HOME/keystore`,
/// else `~/.terrace/keystore`.
pub fn default_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("TERRACE_KEYSTORE") {
        return Ok(PathBuf::from(dir));
    }
    if let Some(home) = std::env::var_os("TERRACE_HOME") {
        return Ok(PathBuf::from(home).join("keystore"));
    }
    let home = std::env::var_os("HOME")
        .context("neither --keystore, TERRACE_KEYSTORE, TERRACE_HOME nor HOME is set")?;
    Ok(PathBuf::from(home).join(".terrace").join("keystore"))
}

static PASSWORD_FILE: OnceLock<PathBuf> = OnceLock::new();

/// Sets the `--password-file` every unlock reads (once, at start).
pub fn set_password_file(path: PathBuf) {
    let _ = PASSWORD_FILE.set(path);
}

/// The password: the first line of `--password-file`, else
/// `TERRACE_PASSWORD`, else a prompt (twice with `confirm`).
pub fn password(confirm: bool) -> Result<Vec<u8>> {
    if let Some(path) = PASSWORD_FILE.get() {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the password file {}", path.display()))?;
        return Ok(text.lines().next().unwrap_or_default().as_bytes().to_vec());
    }
    if let Ok(p) = std::env::var("TERRACE_PASSWORD") {
        return Ok(p.into_bytes());
    }
    let p = rpassword::prompt_password("Password: ")
        .context("no password: use --password-file, TERRACE_PASSWORD, or run in a terminal")?;
    if confirm && rpassword::prompt_password("Repeat password: ")? != p {
        bail!("passwords differ");
    }
    if confirm && p.is_empty() {
        bail!("refusing an empty password");
    }
    Ok(p.into_bytes())
}

/// All key files in `dir`, sorted by address.
pub fn list(dir: &Path) -> Result<Vec<(PathBuf, KeyFile)>> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e).with_context(|| format!("cannot list {}", dir.display())),
    };
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "json") {
            out.push((path.clone(), KeyFile::read(&path)?));
        }
    }
    out.sort_by_key(|(_, k)| k.address);
    Ok(out)
}

/// Generates a fresh key from OS randomness.
pub fn generate() -> Result<PrivateKey> {
    Ok(private_key_from_seed(random_bytes()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A key is found by its name or its address; names that collide
    /// with devnet keys or carry odd characters are refused.
    #[test]
    fn finds_keys_by_name_or_address_and_checks_names() {
        let dir = tempfile::tempdir().unwrap();
        let key = generate().unwrap();
        let mut file = KeyFile::seal(&key, b"pw", KdfCost::fast()).unwrap();
        file.name = Some("carol".into());
        file.write_to(dir.path()).unwrap();
        let other = KeyFile::seal(&generate().unwrap(), b"pw", KdfCost::fast()).unwrap();
        other.write_to(dir.path()).unwrap();
        let by_name = find(dir.path(), "carol").unwrap().unwrap();
        assert_eq!(by_name.address, file.address);
        assert_eq!(by_name.public_key().unwrap(), key.public_key());
        let by_address = find(dir.path(), &file.address.to_string())
            .unwrap()
            .unwrap();
        assert_eq!(by_address.name.as_deref(), Some("carol"));
        assert!(find(dir.path(), "dave").unwrap().is_none());
        assert!(find(dir.path(), "0xzz").is_err());
        for good in ["carol", "a", "ops-key_2"] {
            check_name(good).unwrap();
        }
        for bad in [
            "",
            "dev0",
            "validator12",
            "0xab",
            "9lives",
            "a b",
            &"x".repeat(33),
        ] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        // A damaged file in the directory is named in the error.
        std::fs::write(dir.path().join("junk.json"), "{").unwrap();
        let e = find(dir.path(), "carol").unwrap_err();
        assert!(format!("{e:#}").contains("junk.json"), "{e:#}");
    }

    #[test]
    fn seals_and_opens_with_the_right_password_only() {
        let key = generate().unwrap();
        let file = KeyFile::seal(&key, b"correct horse", KdfCost::fast()).unwrap();
        assert_eq!(
            file.open(b"correct horse").unwrap().public_key(),
            key.public_key()
        );
        assert!(file.open(b"wrong").is_err());
        // The secret is not in the file in the clear.
        let json = serde_json::to_string(&file).unwrap();
        assert!(!json.contains(&to_hex(&private_key_seed(&key).0)));
    }

    #[test]
    fn editing_the_address_breaks_decryption() {
        let key = generate().unwrap();
        let mut file = KeyFile::seal(&key, b"pw", KdfCost::fast()).unwrap();
        file.address = Address([9; 20]);
        let err = file.open(b"pw").unwrap_err().to_string();
        assert!(err.contains("modified"), "{err}");
    }

    #[test]
    fn writes_lists_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let key = generate().unwrap();
        let file = KeyFile::seal(&key, b"pw", KdfCost::fast()).unwrap();
        let path = file.write_to(dir.path()).unwrap();
        assert!(file.write_to(dir.path()).is_err(), "never overwrites a key");
        let listed = list(dir.path()).unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].0, path);
        assert_eq!(
            listed[0].1.open(b"pw").unwrap().public_key(),
            key.public_key()
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
    }
}
