//! Built-in word lists: customer sentiment (English and Indonesian) and the
//! cues of the sensitive-data detector. They are part of the engine, not of a
//! rubric, so they are the same for every tenant.

/// Words and phrases of positive feeling.
pub const POSITIVE: &[&str] = &[
    // English
    "thank you",
    "thanks",
    "great",
    "good",
    "happy",
    "glad",
    "appreciate",
    "helpful",
    "perfect",
    "excellent",
    "wonderful",
    "awesome",
    "satisfied",
    "resolved",
    "relieved",
    "pleased",
    "love",
    "nice",
    "fantastic",
    "that works",
    "sounds good",
    // Indonesian
    "terima kasih",
    "makasih",
    "bagus",
    "baik",
    "senang",
    "puas",
    "mantap",
    "membantu",
    "lega",
    "beres",
    "sip",
    "oke",
    "hebat",
    "cepat",
    "memuaskan",
    "syukurlah",
    "alhamdulillah",
];

/// Words and phrases of negative feeling, frustration or distress.
pub const NEGATIVE: &[&str] = &[
    // English
    "angry",
    "upset",
    "frustrated",
    "frustrating",
    "disappointed",
    "disappointing",
    "annoyed",
    "terrible",
    "awful",
    "horrible",
    "ridiculous",
    "unacceptable",
    "worst",
    "useless",
    "bad",
    "problem",
    "complaint",
    "complain",
    "fed up",
    "sick of",
    "waste",
    "scam",
    "cheated",
    "hurt",
    "injured",
    "accident",
    "hospital",
    "worried",
    "scared",
    "afraid",
    "crying",
    "late",
    "delay",
    "broken",
    "damaged",
    "wrong",
    "lost",
    "nobody",
    "again and again",
    "third time",
    // Indonesian
    "marah",
    "kesal",
    "kecewa",
    "jengkel",
    "sebal",
    "parah",
    "buruk",
    "jelek",
    "lambat",
    "lama sekali",
    "lama banget",
    "terlambat",
    "telat",
    "rusak",
    "hilang",
    "salah",
    "masalah",
    "keluhan",
    "komplain",
    "menyebalkan",
    "keterlaluan",
    "tidak becus",
    "penipuan",
    "ditipu",
    "rugi",
    "capek",
    "bosan",
    "terluka",
    "cedera",
    "kecelakaan",
    "rumah sakit",
    "khawatir",
    "takut",
    "sedih",
    "menangis",
    "bingung",
    "sudah berkali kali",
    "sudah tiga kali",
];

/// Words of the sentiment and emotion lists that count only as written
/// (or with a clitic: "masalahnya"): their stem is another, everyday word.
/// "keterlaluan" (outrageous) stems to "lalu" (then), "masalah" (problem)
/// to "masa" (period: "masa aktif"), "menangis" (crying) to "tang" (as do
/// "tangan", hand, and "ditangani", handled), "meninggal" (died) to
/// "tinggal" (to live, to stay), "merasa" (to feel) to "rasa" ("saya
/// rasa", I think).
pub const AS_WRITTEN: &[&str] = &["keterlaluan", "masalah", "menangis", "meninggal", "merasa"];

/// Words that flip the polarity of the sentiment word right after them.
pub const NEGATORS: &[&str] = &[
    "not", "no", "never", "dont", "didnt", "isnt", "wasnt", "doesnt", "cant", "wont", "tidak",
    "tak", "nggak", "gak", "ga", "enggak", "bukan", "belum", "jangan", "tanpa",
];

/// Naming a PIN.
pub const PIN: &[&str] = &[
    "pin",
    "nomor pin",
    "kode pin",
    "personal identification number",
];
/// Naming a one-time password.
pub const OTP: &[&str] = &[
    "otp",
    "kode otp",
    "one time password",
    "verification code",
    "kode verifikasi",
    "sms code",
    "kode sms",
    "kode unik",
];
/// Naming a password.
pub const PASSWORD: &[&str] = &["password", "passcode", "kata sandi", "sandi", "kata kunci"];
/// Naming a card verification value.
pub const CVV: &[&str] = &[
    "cvv",
    "cvc",
    "cvv2",
    "security code",
    "kode keamanan",
    "3 digit di belakang kartu",
    "3 digits on the back",
    "tiga angka di belakang",
];
/// Naming a card number.
pub const CARD_NUMBER: &[&str] = &[
    "card number",
    "full card number",
    "nomor kartu",
    "no kartu",
    "16 digit",
    "nomor kartu kredit",
    "nomor kartu debit",
    "digits on your card",
    "angka di kartu",
];
/// Asking someone to say or give a value. Deliberately narrow ("mohon",
/// "boleh", "could you" are not enough): a false alarm here fails a critical check.
pub const ASK: &[&str] = &[
    "what is",
    "whats",
    "tell me",
    "read me",
    "read out",
    "read it out",
    "give me",
    "provide",
    "may i have",
    "can i have",
    "i need your",
    "please say",
    "say your",
    "confirm your",
    "type in",
    "enter your",
    "spell out",
    "sebutkan",
    "bacakan",
    "berapa",
    "berikan",
    "kasih tahu",
    "minta",
    "informasikan",
    "diinfokan",
    "sampaikan",
    "konfirmasi",
    "ketik",
    "eja",
];
/// Warning the customer not to share (the opposite of asking).
pub const DONT_SHARE: &[&str] = &[
    "never",
    "do not",
    "dont",
    "not share",
    "will not ask",
    "wont ask",
    "never ask",
    "jangan",
    "tidak perlu",
    "tidak akan",
    "tidak pernah",
    "bukan",
    "rahasiakan",
    "rahasia",
];
/// Asking only for part of a card number, which is allowed.
pub const PARTIAL: &[&str] = &[
    "last 4",
    "last four",
    "last 4 digits",
    "first 6",
    "4 digit terakhir",
    "empat digit terakhir",
    "terakhir",
    "belakang",
    "6 digit pertama",
];

/// An amount being charged, deducted or totalled (the amount-consistency metric).
pub const CHARGE: &[&str] = &[
    "charged",
    "charge",
    "deducted",
    "debited",
    "billed",
    "you will pay",
    "you pay",
    "total",
    "in total",
    "comes to",
    "amount due",
    "payment of",
    "dipotong",
    "terpotong",
    "didebet",
    "ditagihkan",
    "ditagih",
    "totalnya",
    "yang perlu dibayar",
    "dibayar",
    "sebesar",
];

/// The speaker correcting what they said before.
pub const CORRECTION: &[&str] = &[
    "correct myself",
    "let me correct",
    "correction",
    "i misspoke",
    "i made a mistake",
    "i read the wrong",
    "i gave you the wrong",
    "i was wrong",
    "sorry i meant",
    "meralat",
    "ralat",
    "koreksi",
    "mengoreksi",
    "salah sebut",
    "saya keliru",
    "salah baca",
    "salah membaca",
];
