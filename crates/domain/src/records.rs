//! The closed sets of Vigie's records beyond subjects: rights requests, breaches,
//! the outbox, policy versions and legal holds.
//!
//! Each is a [`token_enum!`](crate::model): its snake_case spelling is what the API
//! shows and what the database stores, and the store maps columns straight into it.

use crate::model::token_enum;

token_enum! {
    /// What a rights request asks for (GDPR Art. 15 to 21), or the withdrawal of a consent
    /// (Art. 7(3)) for the purposes it names.
    RequestKind {
        Access = "access",
        Rectification = "rectification",
        Erasure = "erasure",
        Portability = "portability",
        Objection = "objection",
        Restriction = "restriction",
        ConsentWithdrawal = "consent_withdrawal",
    }
}

token_enum! {
    /// The Art. 18(1) ground of a restriction of processing: (a) the accuracy is contested, while it is
    /// verified; (b) the processing is unlawful and the subject opposes erasure; (c) the controller no
    /// longer needs the data, the subject needs them for legal claims; (d) an objection (Art. 21(1)) is
    /// pending the verification of the legitimate grounds.
    RestrictionGround {
        AccuracyContested = "accuracy_contested",
        UnlawfulProcessing = "unlawful_processing",
        NoLongerNeededButClaims = "no_longer_needed_but_claims",
        ObjectionPending = "objection_pending",
    }
}

impl RestrictionGround {
    /// Whether the restriction keeps the subject from the retention sweep: the subject opposed
    /// erasure (b) or needs the data for legal claims (c). For (a) and (d) the retention clock runs.
    pub fn holds_erasure(self) -> bool {
        matches!(self, RestrictionGround::UnlawfulProcessing | RestrictionGround::NoLongerNeededButClaims)
    }
}

token_enum! {
    /// How a rights request reached the controller.
    RequestChannel { Letter = "letter", Email = "email", WebForm = "web_form", Phone = "phone", InPerson = "in_person" }
}

token_enum! {
    /// Where a rights request stands.
    RequestStatus {
        AwaitingIdentity = "awaiting_identity",
        InProgress = "in_progress",
        Completed = "completed",
        Refused = "refused",
    }
}

impl RequestStatus {
    /// The statuses of a request still open: its subject is held from the retention sweep.
    pub const OPEN: [RequestStatus; 2] = [RequestStatus::AwaitingIdentity, RequestStatus::InProgress];

    pub fn is_open(self) -> bool {
        RequestStatus::OPEN.contains(&self)
    }
}

token_enum! {
    /// The DPO's decision on a requester's identity.
    IdentityVerdict { Verified = "verified", Rejected = "rejected" }
}

token_enum! {
    /// How a requester's identity was confirmed (Art. 12(6): by what the controller already
    /// knows where it can, a document only on a reasonable doubt).
    IdentityMethod {
        EmailOnFile = "email_on_file",
        KnownPhone = "known_phone",
        ContractReference = "contract_reference",
        AuthenticatedAccount = "authenticated_account",
        Document = "document",
    }
}

token_enum! {
    /// The document a requester's identity was checked against.
    IdentityDocument {
        NationalIdCard = "national_id_card",
        Passport = "passport",
        ResidencePermit = "residence_permit",
        DrivingLicence = "driving_licence",
        Other = "other",
    }
}

token_enum! {
    /// Art. 12(5) grounds for refusing a request, besides an identity not verified.
    RefusalGround {
        ManifestlyUnfounded = "manifestly_unfounded",
        Excessive = "excessive",
        IdentityNotVerified = "identity_not_verified",
        NotTheSubject = "not_the_subject",
    }
}

token_enum! {
    /// Art. 17(1) grounds for an erasure the DPO may record, besides an objection to prospecting.
    ErasureGround {
        ObjectionToProspecting = "objection_to_prospecting",
        NoLongerNecessary = "no_longer_necessary",
        ConsentWithdrawn = "consent_withdrawn",
        Objection = "objection",
        Unlawful = "unlawful",
        LegalObligation = "legal_obligation",
    }
}

token_enum! {
    /// How a rights request ended.
    RequestOutcome {
        Answered = "answered",
        Rectified = "rectified",
        ObjectionRecorded = "objection_recorded",
        Restricted = "restricted",
        ConsentWithdrawn = "consent_withdrawn",
        Erased = "erased",
        ErasedPartially = "erased_partially",
        NoGround = "no_ground",
        NoData = "no_data",
        ManifestlyUnfounded = "manifestly_unfounded",
        Excessive = "excessive",
        IdentityNotVerified = "identity_not_verified",
        NotTheSubject = "not_the_subject",
    }
}

impl From<RefusalGround> for RequestOutcome {
    fn from(g: RefusalGround) -> Self {
        match g {
            RefusalGround::ManifestlyUnfounded => RequestOutcome::ManifestlyUnfounded,
            RefusalGround::Excessive => RequestOutcome::Excessive,
            RefusalGround::IdentityNotVerified => RequestOutcome::IdentityNotVerified,
            RefusalGround::NotTheSubject => RequestOutcome::NotTheSubject,
        }
    }
}

token_enum! {
    /// What a breach compromised (Art. 33(3)(a)).
    BreachNature { Confidentiality = "confidentiality", Integrity = "integrity", Availability = "availability" }
}

token_enum! {
    /// The risk a breach poses to the people concerned: `high` calls for informing them (Art. 34).
    BreachRisk { None = "none", Risk = "risk", High = "high" }
}

token_enum! {
    /// Whether the keys protecting a breach's data were compromised too: only `no` allows
    /// the Art. 34(3)(a) exemption (the data is unintelligible to anyone who took it).
    BreachKeys { Yes = "yes", No = "no", Unknown = "unknown" }
}

token_enum! {
    /// Where a breach stands.
    BreachStatus { Open = "open", Notified = "notified", Closed = "closed" }
}

token_enum! {
    /// A dated phase of a breach. `initial` and `subjects_decision` are recorded by Vigie;
    /// the DPO adds the others ([`BreachPhase::ADDED`]).
    BreachPhase {
        Initial = "initial",
        Update = "update",
        AuthorityNotified = "authority_notified",
        SubjectsNotified = "subjects_notified",
        Closed = "closed",
        SubjectsDecision = "subjects_decision",
    }
}

impl BreachPhase {
    /// The phases the DPO adds.
    pub const ADDED: [BreachPhase; 4] =
        [BreachPhase::Update, BreachPhase::AuthorityNotified, BreachPhase::SubjectsNotified, BreachPhase::Closed];
}

token_enum! {
    /// The DPO's decision on informing the subjects of a high-risk breach (Art. 34).
    /// `confirm_exemption`: Art. 34(3)(a), the data encrypted under keys not compromised;
    /// `measures_taken`: Art. 34(3)(b), subsequent measures make the high risk no longer likely;
    /// `public_communication`: Art. 34(3)(c), a public communication instead (disproportionate
    /// effort, or subjects without a reachable address); `other_channel`: the subjects without
    /// an email were told another way (letter, phone).
    NoticeDecision {
        Notify = "notify",
        ConfirmExemption = "confirm_exemption",
        MeasuresTaken = "measures_taken",
        PublicCommunication = "public_communication",
        OtherChannel = "other_channel",
    }
}

token_enum! {
    /// Where a notice in the outbox stands: `failed` is given up.
    OutboxStatus { Pending = "pending", Sent = "sent", Failed = "failed" }
}

token_enum! {
    /// Where a version of the policy stands.
    PolicyStatus { Pending = "pending", Active = "active", Superseded = "superseded" }
}

token_enum! {
    /// An event in a subject's legal-hold history.
    HoldAction { Set = "set", Lift = "lift" }
}
