"""Spectrum -> substructure fingerprint (PyTorch), and ranking a suspect list of structures against a spectrum.

The target fingerprint of a structure is :func:`substructure_keys` (named SMARTS keys: fentanyl core,
4-anilinopiperidine, piperidone, benzimidazole, indole/indazole carboxamide, ...) followed by hashed Morgan
bits (radius 2). :class:`SubstructurePredictor` is a small multi-label network (MLP, sigmoid outputs)
trained on reference spectra with known structures. For an unknown spectrum (an analogue no library
holds) it predicts the probability of every bit; :meth:`SubstructurePredictor.rank_suspects` then scores
each structure of a user's suspect list by the log-likelihood of its fingerprint under those predicted
probabilities, plus a mass term (EI: is there a peak at the suspect's nominal mass; MS/MS: does the
precursor m/z fit ``[M+H]+``), and returns the list best first.

Runs on CPU or CUDA through ``device=``; asking for CUDA where there is none raises
:class:`nps_id.errors.DeviceError`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from nps_id.errors import DeviceError, ModelError

__all__ = [
    "SUBSTRUCTURE_KEYS",
    "substructure_keys",
    "fingerprint_targets",
    "resolve_device",
    "SubstructurePredictor",
]

logger = logging.getLogger(__name__)

#: named substructure keys (SMARTS); the first bits of every target fingerprint, in this order
SUBSTRUCTURE_KEYS: dict[str, str] = {
    "fentanyl_core": "[#6](=O)N(c1ccccc1)C1CCNCC1",
    "anilinopiperidine_4": "c1ccccc1[NX3]C1CCNCC1",
    "piperidone_4": "O=C1CCNCC1",
    "piperidine": "C1CCNCC1",
    "phenethyl_piperidine": "c1ccccc1CCN1CCCCC1",
    "thienylethyl_amine": "c1ccsc1CC[NX3]",
    "benzyl_piperidine": "c1ccccc1[CH2]N1CCCCC1",
    "n_aryl_amide": "c[NX3][CX3](=O)[#6]",
    "propanamide_anilide": "[CH3][CH2]C(=O)N(c)[#6]",
    "acetamide_anilide": "[CH3]C(=O)N(c)[#6]",
    "acrylamide": "C=CC(=O)N",
    "furanyl_carbonyl": "o1cccc1C(=O)N",
    "cyclopropyl_carbonyl": "C1CC1C(=O)N",
    "methoxyacetyl": "[CH3]O[CH2]C(=O)N",
    "piperidine_4_ester": "[#6]OC(=O)C1(N(c)C=O)CCNCC1",
    "halo_aryl": "[F,Cl,Br,I]c",
    "fluoro_aryl": "Fc",
    "benzimidazole": "c1nc2ccccc2[nX3]1",
    "nitro_aryl": "[$([N+](=O)[O-]),$(N(=O)=O)]c",
    "benzyl_benzimidazole": "c1ccccc1[CH2]c1nc2ccccc2n1",
    "indole": "c1ccc2[nX3]ccc2c1",
    "indazole": "c1ccc2[nX3]ncc2c1",
    "indole_3_carboxamide": "O=C([NX3])c1c[nX3]c2ccccc12",
    "indazole_3_carboxamide": "O=C([NX3])c1n[nX3]c2ccccc12",
    "acyl_indole_3": "O=C([#6])c1c[nX3]c2ccccc12",
    "n_pentyl_azole": "[nX3][CH2][CH2][CH2][CH2][CH3,CH2F]",
    "amino_acid_amide": "[NX3]C(=O)C([NX3]C=O)C",
    "beta_keto_phenethylamine": "O=C(c1ccccc1)C([#6])[NX3]",
    "phenethylamine": "c1ccccc1[CH2,CH1]C[NX3;!$(NC=O)]",
    "amphetamine": "c1ccccc1CC([CH3])[NX3;!$(NC=O)]",
    "methylenedioxy_phenyl": "c1cc2OCOc2cc1",
    "dimethoxy_25_phenyl": "COc1ccc(OC)cc1",
    "tryptamine": "c1ccc2c(CC[NX3])c[nX3]c2c1",
    "benzodiazepine_14": "c12ccccc1C=NC~[#6]~[#7]2",
    "tramadol_like": "OC1(c)CCCCC1CN(C)C",
    "piperazine": "C1CNCCN1",
    "ester": "[#6]C(=O)O[#6]",
    "tertiary_amine": "[NX3;H0;!$(NC=O);!$(N-a)]([#6])([#6])[#6]",
    "trimethylsilyl": "[Si](C)(C)C",
    "trifluoroacetyl": "FC(F)(F)C(=O)",
}

_PATTERNS: dict[str, Any] = {}


@contextlib.contextmanager
def _quiet_rdkit() -> Iterator[None]:
    from rdkit import RDLogger

    RDLogger.DisableLog("rdApp.*")
    try:
        yield
    finally:
        RDLogger.EnableLog("rdApp.*")


def _patterns() -> list[Any]:
    from rdkit import Chem

    if not _PATTERNS:
        for name, smarts in SUBSTRUCTURE_KEYS.items():
            patt = Chem.MolFromSmarts(smarts)
            if patt is None:  # a programming error in the table above
                raise ModelError(f"substructure key {name!r} has an invalid SMARTS {smarts!r}")
            _PATTERNS[name] = patt
    return list(_PATTERNS.values())


def _mols(smiles: Sequence[str]) -> tuple[np.ndarray, list[Any]]:
    """Parse the unique SMILES; return (index of each input into the unique list, molecules or None)."""
    from rdkit import Chem

    arr = np.asarray(list(smiles), dtype=object)
    uniq, inv = np.unique(arr.astype(str), return_inverse=True)
    mols = []
    with _quiet_rdkit():
        for s in uniq:
            mols.append(Chem.MolFromSmiles(s) if s else None)
    return inv, mols


def substructure_keys(smiles: Sequence[str]) -> np.ndarray:
    """Return the :data:`SUBSTRUCTURE_KEYS` of each structure as a (n, n_keys) uint8 matrix.

    Empty or unparsable SMILES give a row of zeros. Each distinct SMILES is parsed once.
    """
    inv, mols = _mols(smiles)
    pats = _patterns()
    uniq = np.zeros((len(mols), len(pats)), dtype=np.uint8)
    for i, m in enumerate(mols):
        if m is not None:
            uniq[i] = [m.HasSubstructMatch(p) for p in pats]
    return uniq[inv] if len(smiles) else np.zeros((0, len(pats)), dtype=np.uint8)


def fingerprint_targets(smiles: Sequence[str], n_morgan: int = 512, radius: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Target fingerprints: substructure keys then `n_morgan` hashed Morgan bits (RDKit generator).

    Returns
    -------
    fp : ndarray of uint8, shape (n, n_keys + n_morgan)
    valid : ndarray of bool, shape (n,)
        False where the SMILES is empty or could not be parsed.
    """
    from rdkit.Chem import rdFingerprintGenerator

    inv, mols = _mols(smiles)
    keys = substructure_keys(smiles)
    uniq = np.zeros((len(mols), n_morgan), dtype=np.uint8)
    ok = np.zeros(len(mols), dtype=bool)
    if n_morgan:
        gen = rdFingerprintGenerator.GetMorganGenerator(radius=radius, fpSize=n_morgan)
        for i, m in enumerate(mols):
            if m is not None:
                uniq[i] = gen.GetFingerprintAsNumPy(m).astype(np.uint8)
                ok[i] = True
    else:
        ok = np.array([m is not None for m in mols], dtype=bool)
    if not len(smiles):
        return np.zeros((0, keys.shape[1] + n_morgan), np.uint8), np.zeros(0, bool)
    return np.hstack([keys, uniq[inv]]), ok[inv]


def resolve_device(device: str | Any) -> Any:
    """Return a ``torch.device`` for ``"cpu"``, ``"cuda"``, ``"cuda:N"`` (or ``"auto"``: CUDA if available).

    Raises
    ------
    DeviceError
        If CUDA is asked for and this torch build or machine has none.
    """
    import torch

    if isinstance(device, torch.device):
        device = str(device)
    device = str(device or "cpu")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceError(
                f"device={device!r} asked for, but CUDA is not available here (torch {torch.__version__}, "
                f"CUDA build: {torch.version.cuda or 'none'}); use device='cpu', or install a CUDA build of torch "
                "on a machine with an NVIDIA GPU"
            )
        return torch.device(device)
    if device != "cpu":
        raise DeviceError(f"unknown device {device!r}; use 'cpu', 'cuda', 'cuda:N' or 'auto'")
    return torch.device("cpu")


def _build_net(n_in: int, n_out: int, hidden: int, dropout: float) -> Any:
    import torch.nn as nn

    return nn.Sequential(
        nn.Linear(n_in, hidden), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(hidden, n_out),
    )


class SubstructurePredictor(BaseEstimator):
    """Predict substructure-fingerprint bits from a mass spectrum (PyTorch MLP), and rank suspects.

    Parameters
    ----------
    mode : {"ei", "msms"}, default "ei"
        Spectrum type (see :class:`~nps_id.models.features.SpectrumFeaturizer`).
    max_mz : int, default 500
        Binning range of the input features.
    n_morgan : int, default 512
        Hashed Morgan bits (radius 2) after the named SMARTS keys.
    hidden : int, default 512
        Width of the two hidden layers.
    dropout : float, default 0.3
    epochs : int, default 60
    batch_size : int, default 128
    lr : float, default 1e-3
    weight_decay : float, default 1e-4
    mass_weight : float, default 2.0
        Weight of the mass term in :meth:`rank_suspects`.
    device : str, default "cpu"
        ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"``.
    random_state : int, default 0
    verbose : bool, default False
        Log the loss every 10 epochs.

    Attributes
    ----------
    n_bits_ : int
    key_names_ : list of str
    bit_names_ : list of str
    net_ : torch.nn.Module
    feature_mean_, feature_scale_ : ndarray
    """

    def __init__(
        self,
        mode: str = "ei",
        max_mz: int = 500,
        n_morgan: int = 512,
        hidden: int = 512,
        dropout: float = 0.3,
        epochs: int = 60,
        batch_size: int = 128,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        mass_weight: float = 2.0,
        device: str = "cpu",
        random_state: int = 0,
        verbose: bool = False,
    ) -> None:
        self.mode = mode
        self.max_mz = max_mz
        self.n_morgan = n_morgan
        self.hidden = hidden
        self.dropout = dropout
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.mass_weight = mass_weight
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _featurizer(self) -> Any:
        from nps_id.models.features import SpectrumFeaturizer

        return SpectrumFeaturizer(mode=self.mode, max_mz=self.max_mz, blocks=("binned", "losses", "precursor"))

    def fit(self, X: Any, smiles: Sequence[str] | None = None) -> "SubstructurePredictor":
        """Train on spectra with known structures.

        Parameters
        ----------
        X : list of Spectrum or SpectralLibrary
        smiles : sequence of str, optional
            Structure of each spectrum; default: the spectra's ``smiles`` metadata. Spectra without a
            parsable structure are left out (their count is logged).
        """
        import torch

        from nps_id.models.features import as_batch

        device = resolve_device(self.device)
        batch = as_batch(X)
        if smiles is None:
            smiles = batch.metadata("smiles")
        smiles = np.asarray(list(smiles), dtype=object)
        if smiles.shape != (len(batch),):
            raise ValueError(f"smiles has {smiles.size} values for {len(batch)} spectra")
        targets, valid = fingerprint_targets(smiles, int(self.n_morgan))
        if valid.sum() < 2:
            raise ValueError("need at least 2 spectra with a parsable structure to train")
        if (~valid).any():
            logger.info("substructure model: %d spectra without a usable structure left out", int((~valid).sum()))
        self.featurizer_ = self._featurizer().fit(batch)
        feats = self.featurizer_.transform(batch)[valid]
        targets = targets[valid].astype(np.float32)
        self.feature_mean_ = feats.mean(axis=0).astype(np.float32)
        self.feature_scale_ = (feats.std(axis=0) + 1e-3).astype(np.float32)
        xs = (feats - self.feature_mean_) / self.feature_scale_
        self.key_names_ = list(SUBSTRUCTURE_KEYS)
        self.bit_names_ = self.key_names_ + [f"morgan_{i}" for i in range(int(self.n_morgan))]
        self.n_bits_ = len(self.bit_names_)
        self.n_features_in_ = feats.shape[1]
        # bit prior: used to weight rare bits up in the loss
        prior = targets.mean(axis=0)
        self.bit_prior_ = prior.astype(np.float32)
        gen = torch.Generator().manual_seed(int(self.random_state))
        torch.manual_seed(int(self.random_state))
        net = _build_net(xs.shape[1], self.n_bits_, int(self.hidden), float(self.dropout)).to(device)
        opt = torch.optim.AdamW(net.parameters(), lr=float(self.lr), weight_decay=float(self.weight_decay))
        xt = torch.from_numpy(np.ascontiguousarray(xs)).to(device)
        yt = torch.from_numpy(targets).to(device)
        pos_weight = torch.from_numpy(np.clip((1 - prior) / np.maximum(prior, 1e-3), 1.0, 10.0).astype(np.float32)).to(device)
        loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight)
        n = xt.shape[0]
        bs = int(self.batch_size)
        net.train()
        self.loss_curve_ = []
        for epoch in range(int(self.epochs)):
            perm = torch.randperm(n, generator=gen).to(device)
            total = 0.0
            for start in range(0, n, bs):
                idx = perm[start:start + bs]
                opt.zero_grad()
                loss = loss_fn(net(xt[idx]), yt[idx])
                loss.backward()
                opt.step()
                total += float(loss.detach()) * idx.numel()
            self.loss_curve_.append(total / n)
            if self.verbose and (epoch + 1) % 10 == 0:
                logger.info("substructure model epoch %d/%d: loss %.4f", epoch + 1, self.epochs, total / n)
        net.eval()
        self.net_ = net.to("cpu")
        return self

    # ------------------------------------------------------------------ prediction
    def _net_on(self, device: Any) -> Any:
        return self.net_.to(device)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Probability of every fingerprint bit, shape (n_spectra, n_bits_)."""
        import torch

        check_is_fitted(self, "net_")
        device = resolve_device(self.device)
        feats = self.featurizer_.transform(X)
        xs = (feats - self.feature_mean_) / self.feature_scale_
        net = self._net_on(device)
        out = []
        with torch.no_grad():
            for start in range(0, xs.shape[0], 4096):
                xb = torch.from_numpy(np.ascontiguousarray(xs[start:start + 4096])).to(device)
                out.append(torch.sigmoid(net(xb)).cpu().numpy())
        self.net_ = net.to("cpu")
        return np.vstack(out) if out else np.zeros((0, self.n_bits_), np.float32)

    def predict_keys(self, X: Any) -> list[dict[str, float]]:
        """Per spectrum, the probability of each named substructure key (``{"fentanyl_core": 0.98, ...}``)."""
        proba = self.predict_proba(X)
        k = len(self.key_names_)
        return [dict(zip(self.key_names_, map(float, row[:k]))) for row in proba]

    def score_suspects(self, X: Any, smiles_list: Sequence[str], library: Any = None,
                       analogue_weight: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Score every suspect against every spectrum.

        Parameters
        ----------
        X : list of Spectrum or SpectralLibrary
        smiles_list : sequence of str
        library : SpectralLibrary, optional
            Reference spectra with structures: adds the analogue evidence of :mod:`nps_id.models.analogue`
            (its spectra of this model's technique only), times `analogue_weight`, to the total.
        analogue_weight : float, optional
            Default :data:`~nps_id.models.suspects.ANALOGUE_WEIGHT`.

        Returns
        -------
        total, fingerprint, mass : ndarray, shape (n_spectra, n_suspects)
            Total score and its parts; unparsable suspects get ``-inf``.
        """
        from nps_id.models.suspects import suspect_scores

        parts = suspect_scores(self, X, smiles_list, library, analogue_weight)
        return parts["total"], parts["fingerprint"], parts["mass"]

    def rank_suspects(self, spectrum: Any, smiles_list: Sequence[str], top: int | None = None,
                      library: Any = None) -> list[Any]:
        """Rank a suspect list of structures against one unknown spectrum, best first.

        Parameters
        ----------
        spectrum : Spectrum
        smiles_list : sequence of str
            The suspects (e.g. :func:`enumerate_fentanyl_suspects` plus a lab's own list).
        top : int, optional
            Return only the best `top`.
        library : SpectralLibrary, optional
            Reference spectra with structures (a library of the same technique): each suspect is also scored by
            how well its nearest library analogues' spectra, shifted by the mass difference, explain the unknown
            (:mod:`nps_id.models.analogue`). Recommended: it ranked held-out fentanyl analogues' true structures
            higher (docs/models.md).

        Returns
        -------
        list of SuspectHit
        """
        from nps_id.models.suspects import SuspectHit, suspect_scores

        if not len(smiles_list):
            raise ValueError("the suspect list is empty")
        one = [spectrum] if not isinstance(spectrum, list) else spectrum[:1]
        parts = suspect_scores(self, one, smiles_list, library, None)
        order = np.argsort(-parts["total"][0], kind="stable")
        if top is not None:
            order = order[: int(top)]
        return [
            SuspectHit(r + 1, str(smiles_list[i]), float(parts["total"][0, i]), float(parts["fingerprint"][0, i]),
                       float(parts["mass"][0, i]), float(parts["analogue"][0, i]))
            for r, i in enumerate(order)
        ]

    # ------------------------------------------------------------------ weights (for nps_id.models.io)
    def state_tensors(self) -> dict[str, Any]:
        """Network weights and feature scaling as a flat dict of CPU tensors (for safetensors)."""
        import torch

        check_is_fitted(self, "net_")
        out = {f"net.{k}": v.detach().cpu().contiguous() for k, v in self.net_.state_dict().items()}
        out["feature_mean"] = torch.from_numpy(self.feature_mean_)
        out["feature_scale"] = torch.from_numpy(self.feature_scale_)
        out["bit_prior"] = torch.from_numpy(self.bit_prior_)
        return out

    def config(self) -> dict[str, Any]:
        """Everything but the weights, as JSON-able values."""
        check_is_fitted(self, "net_")
        return {
            "params": self.get_params(),
            "n_features_in": int(self.n_features_in_),
            "n_bits": int(self.n_bits_),
            "key_names": list(self.key_names_),
            "substructure_keys": {k: SUBSTRUCTURE_KEYS[k] for k in self.key_names_},
        }

    @classmethod
    def from_state(cls, config: dict[str, Any], tensors: dict[str, Any]) -> "SubstructurePredictor":
        """Rebuild a fitted model from :meth:`config` and :meth:`state_tensors`."""
        from nps_id.models.features import as_batch  # noqa: F401  (import check)

        self = cls(**config["params"])
        if config.get("substructure_keys") != {k: SUBSTRUCTURE_KEYS.get(k) for k in config["key_names"]}:
            raise ModelError(
                "the model was trained with other substructure keys than this nps_id defines; "
                "retrain it with `python -m nps_id train`"
            )
        self.key_names_ = list(config["key_names"])
        self.bit_names_ = self.key_names_ + [f"morgan_{i}" for i in range(int(self.n_morgan))]
        self.n_bits_ = int(config["n_bits"])
        self.n_features_in_ = int(config["n_features_in"])
        self.featurizer_ = self._featurizer()
        self.featurizer_.blocks_ = tuple(
            b for b in ("binned", "losses", "precursor") if b != "precursor" or self.mode == "msms"
        )
        self.featurizer_.feature_names_ = self.featurizer_._names()
        self.featurizer_.n_features_out_ = int(self.featurizer_.feature_names_.size)
        net = _build_net(self.n_features_in_, self.n_bits_, int(self.hidden), float(self.dropout))
        state = {k[4:]: v for k, v in tensors.items() if k.startswith("net.")}
        try:
            net.load_state_dict(state)
        except RuntimeError as exc:
            raise ModelError(f"substructure weights do not fit the model description: {exc}") from None
        net.eval()
        self.net_ = net
        self.feature_mean_ = tensors["feature_mean"].numpy()
        self.feature_scale_ = tensors["feature_scale"].numpy()
        self.bit_prior_ = tensors["bit_prior"].numpy()
        return self


def __getattr__(name: str) -> Any:  # moved to nps_id.models.suspects; kept importable from here
    if name in ("enumerate_fentanyl_suspects", "SuspectHit", "ANALOGUE_WEIGHT"):
        from nps_id.models import suspects

        return getattr(suspects, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
