"""A local stand-in for NCBI E-utilities, the ENA portal and the FASTQ mirrors, for tests.

``FakeNcbi`` runs a threaded ``http.server`` on 127.0.0.1 (a free port) and answers in the
formats of /work/shared/notes/protocols.md §4: esearch/esummary JSON envelopes with string
counts and a ``uids`` list, ``"error": "cannot get document summary"`` for unknown uids,
``text/plain`` FASTA and abstracts, ``Error: …`` bodies from efetch, the 47-column runinfo CSV,
ENA's ``filereport`` TSV (paths without a scheme) and gzipped FASTQ files with their MD5.

Failures are scripted per endpoint: ``fake.fail_next("esummary.fcgi", 429, 500)`` makes the
next two esummary calls answer 429 (``Retry-After``, NCBI's JSON body) and 500. With
``fake.enforce_rate = 3`` the server itself answers 429 past 3 requests in any second, as NCBI
does. ``fake.requests`` records every request (time, path, query).

The ``fake_ncbi`` fixture gives a session-wide one, reset for each test; ``fake.env()`` gives the settings/environment
that point the app at it.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

RUNINFO_HEADER = (
    "Run,ReleaseDate,LoadDate,spots,bases,spots_with_mates,avgLength,size_MB,AssemblyName,download_path,Experiment,"
    "LibraryName,LibraryStrategy,LibrarySelection,LibrarySource,LibraryLayout,InsertSize,InsertDev,Platform,Model,"
    "SRAStudy,BioProject,Study_Pubmed_id,ProjectID,Sample,BioSample,SampleType,TaxID,ScientificName,SampleName,"
    "g1k_pop_code,source,g1k_analysis_group,Subject_ID,Sex,Disease,Tumor,Affection_Status,Analyte_Type,"
    "Histological_Type,Body_Site,CenterName,Submission,dbgap_study_accession,Consent,RunHash,ReadHash"
).split(",")
assert len(RUNINFO_HEADER) == 47


def fastq_gz(run: str, mate: int | None, reads: int = 40, length: int = 50) -> bytes:
    lines = []
    bases = "ACGT"
    for i in range(reads):
        seq = "".join(bases[(i * 7 + j * (mate or 1) * 3) % 4] for j in range(length))
        suffix = f"/{mate}" if mate else ""
        lines.append(f"@{run}.{i + 1} {i + 1}{suffix}\n{seq}\n+\n{'I' * length}\n")
    return gzip.compress("".join(lines).encode(), mtime=0)


GENES: dict[str, dict[str, Any]] = {
    "7157": {
        "uid": "7157",
        "name": "TP53",
        "description": "tumor protein p53",
        "status": "",
        "currentid": "",
        "chromosome": "17",
        "geneticsource": "genomic",
        "maplocation": "17p13.1",
        "otheraliases": "BCC7, LFS1, P53, TRP53",
        "otherdesignations": "cellular tumor antigen p53|antigen NY-CO-13",
        "nomenclaturesymbol": "TP53",
        "nomenclaturename": "tumor protein p53",
        "nomenclaturestatus": "Official",
        "mim": ["191170"],
        "genomicinfo": [{"chrloc": "17", "chraccver": "NC_000017.11", "chrstart": 7687489, "chrstop": 7668420,
                         "exoncount": 12}],
        "summary": "This gene encodes a tumor suppressor protein containing transcriptional activation, "
        "DNA binding, and oligomerization domains.",
        "organism": {"scientificname": "Homo sapiens", "commonname": "human", "taxid": 9606},
    }
}  # fmt: skip

PUBMED: dict[str, dict[str, Any]] = {
    "22294463": {
        "uid": "22294463",
        "pubdate": "2012 Aug",
        "epubdate": "2012 Feb 1",
        "source": "Biometals",
        "authors": [{"name": "Bartnikas TB", "authtype": "Author", "clusterid": ""}],
        "lastauthor": "Bartnikas TB",
        "title": "Known and potential roles of transferrin in iron biology.",
        "volume": "25",
        "issue": "4",
        "pages": "677-86",
        "lang": ["eng"],
        "issn": "0966-0844",
        "essn": "1572-8773",
        "pubtype": ["Journal Article", "Review"],
        "articleids": [
            {"idtype": "pubmed", "idtypen": 1, "value": "22294463"},
            {"idtype": "doi", "idtypen": 3, "value": "10.1007/s10534-012-9520-3"},
        ],
        "fulljournalname": "Biometals : an international journal on the role of metal ions in biology",
        "elocationid": "doi: 10.1007/s10534-012-9520-3",
        "sortpubdate": "2012/08/01 00:00",
        "sortfirstauthor": "Bartnikas TB",
        "recordstatus": "PubMed - indexed for MEDLINE",
        "pubstatus": "4",
    }
}
ABSTRACTS = {
    "22294463": """1. Biometals. 2012 Aug;25(4):677-86. doi: 10.1007/s10534-012-9520-3. Epub 2012
Feb 1.

Known and potential roles of transferrin in iron biology.

Bartnikas TB(1).

Author information:
(1)Department of Pathology, Children's Hospital, Boston, MA 02115, USA.

Transferrin is an abundant serum metal-binding protein best known for its role
in iron delivery. The human disease congenital atransferrinemia and animal
models of this disease highlight the essential role of transferrin in
erythropoiesis and iron metabolism.

DOI: 10.1007/s10534-012-9520-3
PMCID: PMC3334276
PMID: 22294463  [Indexed for MEDLINE]
"""
}

P53_SEQ = (
    "MEEPQSDPSVEPPLSQETFSDLWKLLPENNVLSPLPSQAMDDLMLSPDDIEQWFTEDPGPDEAPRMPEAAPPVAPAPAAPTPAAPAPAPSWPLSSSVPSQKTYQGSYGFRLGF"
    "LHSGTAKSVTCTYSPALNKMFCQLAKTCPVQLWVDSTPPPGTRVRAMAIYKQSQHMTEVVRRCPHHERCSDSDGLAPPQHLIRVEGNLRVEYLDDRNTFRHSVVVPYEPPEVGS"
    "DCTTIHYNYMCNSSCMGGMNRRPILTIITLEDSSGNLLGRNSFEVRVCACPGRDRRTEEENLRKKGEPHHELPPGSTKRALPNNTSSSPQPKKKPLDGEYFTLQIRGRERFEMFR"
    "ELNEALELKDAQAGKEPGGSRAHSSHLKSKKGQSTSRHKKLMFKTEGPDSD"
)


def _fasta(header: str, seq: str) -> str:
    return f">{header}\n" + "\n".join(seq[i : i + 70] for i in range(0, len(seq), 70)) + "\n\n"


SEQUENCES: dict[str, dict[str, dict[str, Any]]] = {
    "protein": {
        "NP_000537.3": {
            "summary": {"uid": "120407068", "caption": "NP_000537", "title": "cellular tumor antigen p53 isoform a "
                        "[Homo sapiens]", "extra": "gi|120407068|ref|NP_000537.3|", "gi": 120407068, "taxid": 9606,
                        "slen": 393, "biomol": "", "moltype": "aa", "sourcedb": "refseq", "organism": "Homo sapiens",
                        "accessionversion": "NP_000537.3", "biosample": ""},
            "fasta": _fasta("NP_000537.3 cellular tumor antigen p53 isoform a [Homo sapiens]", P53_SEQ),
        },
        # esummary knows it, efetch answers "Error:" (a withdrawn record)
        "NP_999999.1": {
            "summary": {"uid": "999999", "caption": "NP_999999", "title": "withdrawn protein", "taxid": 9606,
                        "organism": "Homo sapiens", "accessionversion": "NP_999999.1"},
            "fasta": None,
        },
    },
    "nuccore": {
        "NM_000546.6": {
            "summary": {"uid": "1718970669", "caption": "NM_000546", "title": "Homo sapiens tumor protein p53 (TP53), "
                        "transcript variant 1, mRNA", "taxid": 9606, "slen": 2512, "moltype": "rna",
                        "organism": "Homo sapiens", "accessionversion": "NM_000546.6", "biosample": ""},
            "fasta": _fasta("NM_000546.6 Homo sapiens tumor protein p53 (TP53), transcript variant 1, mRNA",
                            "GATGGGATTGGGGTTTTCCCCTCCCATGTGCTCAAGACTGGCGCTAAAAGTTTTGAGCTTCTCAAAAGTCTAGAGCCACC" * 3),
        }
    },
}  # fmt: skip

BIOPROJECTS = {
    "988806": {
        "uid": "988806", "taxid": 10090, "project_id": 988806, "project_acc": "PRJNA988806",
        "project_type": "Primary submission", "project_data_type": "Transcriptome or Gene expression",
        "project_target_scope": "Multiisolate", "project_target_material": "Transcriptome",
        "project_methodtype": "Sequencing",
        "project_objectives_list": [{"project_objectivestype": "Expression", "project_objectives": ""}],
        "registration_date": "2023/06/28 00:00", "project_name": "Mouse liver single-cell atlas",
        "project_title": "Single-cell transcriptomes of mouse liver after injury",
        "project_description": "scRNA-seq of hepatocytes and non-parenchymal cells.", "relevance_medical": "",
        "organism_name": "Mus musculus", "organism_strain": "C57BL/6J", "sequencing_status": "SRA/Trace",
        "submitter_organization": "Example University", "submitter_organization_list": ["Example University"],
        "supergroup": "Eukaryotes",
    }
}  # fmt: skip

_SAMPLEDATA = (
    '<BioSample access="public" publication_date="2024-10-04T00:00:00.000" last_update="2024-10-04T00:43:12.563" '
    'submission_date="2023-06-28T14:39:27.040" id="36028301" accession="SAMN36028301"><Ids><Id db="BioSample" '
    'is_primary="1">SAMN36028301</Id><Id db_label="Sample name">liver_1</Id><Id db="SRA">SRS18093896</Id></Ids>'
    '<Description><Title>Mouse liver, day 3 after injury</Title><Organism taxonomy_id="10090" '
    'taxonomy_name="Mus musculus"><OrganismName>Mus musculus</OrganismName></Organism></Description><Owner><Name>'
    "Example University</Name></Owner><Models><Model>Model organism or animal</Model></Models><Package "
    'display_name="Model organism or animal; version 1.0">Model.organism.animal.1.0</Package><Attributes>'
    '<Attribute attribute_name="strain" harmonized_name="strain" display_name="strain">C57BL/6J</Attribute>'
    '<Attribute attribute_name="tissue" harmonized_name="tissue" display_name="tissue">liver</Attribute>'
    '<Attribute attribute_name="cell type" harmonized_name="cell_type" display_name="cell type">hepatocyte'
    '</Attribute><Attribute attribute_name="sex" harmonized_name="sex" display_name="sex">Female</Attribute>'
    '<Attribute attribute_name="dev_stage" harmonized_name="dev_stage" display_name="development stage">adult'
    '</Attribute><Attribute attribute_name="treatment" harmonized_name="treatment" display_name="treatment">CCl4'
    '</Attribute></Attributes><Links><Link type="entrez" target="bioproject" label="PRJNA988806">988806</Link>'
    '</Links><Status status="live" when="2024-10-04T00:43:12.563"/></BioSample>'
)
BIOSAMPLES = {
    "36028301": {
        "uid": "36028301", "title": "Mouse liver, day 3 after injury", "accession": "SAMN36028301",
        "date": "2024/10/04", "publicationdate": "2024/10/04", "modificationdate": "2024/10/04",
        "organization": "Example University", "taxonomy": "10090", "organism": "Mus musculus",
        "sourcesample": "", "sampledata": _SAMPLEDATA, "identifiers": "BioSample: SAMN36028301; "
        "Sample name: liver_1; SRA: SRS18093896", "infraspecies": "strain: C57BL/6J",
        "package": "Model.organism.animal.1.0",
    }
}  # fmt: skip


@dataclass
class Run:
    run: str
    uid: str
    experiment: str
    study: str
    bioproject: str
    biosample: str
    platform: str
    model: str
    strategy: str
    source: str
    layout: str
    organism: str
    taxid: str
    avg_length: int
    ena: str = "mirrored"  # mirrored | missing (fallback endpoint) | bad_md5

    def mates(self) -> list[int | None]:
        return [1, 2] if self.layout == "PAIRED" else [None]

    def file_name(self, mate: int | None) -> str:
        return f"{self.run}_{mate}.fastq.gz" if mate else f"{self.run}.fastq.gz"

    def content(self, mate: int | None) -> bytes:
        return fastq_gz(self.run, mate)

    def ena_path(self, host: str, mate: int | None) -> str:
        digits = self.run[3:]
        sub = f"/{int(digits[6:]):03d}" if len(digits) > 6 else ""
        return f"{host}/vol1/fastq/{self.run[:6]}{sub}/{self.run}/{self.file_name(mate)}"

    def runinfo_row(self) -> list[str]:
        spots = 40
        values = {
            "Run": self.run, "ReleaseDate": "2023-07-01 00:00:00", "LoadDate": "2023-06-30 12:00:00",
            "spots": str(spots), "bases": str(spots * self.avg_length),
            "spots_with_mates": str(spots if self.layout == "PAIRED" else 0), "avgLength": str(self.avg_length),
            "size_MB": "1", "download_path": f"https://sra-downloadb.be-md.ncbi.nlm.nih.gov/sos5/sra-pub-zq-14/"
            f"{self.run[:6]}/{self.run}/{self.run}.sralite.1", "Experiment": self.experiment,
            "LibraryName": f"{self.run}_lib", "LibraryStrategy": self.strategy, "LibrarySelection": "cDNA",
            "LibrarySource": self.source, "LibraryLayout": self.layout, "InsertSize": "0", "InsertDev": "0",
            "Platform": self.platform, "Model": self.model, "SRAStudy": self.study, "BioProject": self.bioproject,
            "ProjectID": self.bioproject[5:], "Sample": "SRS18093899", "BioSample": self.biosample,
            "SampleType": "simple", "TaxID": self.taxid, "ScientificName": self.organism, "SampleName": "liver_1",
            "Sex": "female", "CenterName": "GEO", "Submission": "SRA1663813", "Consent": "public",
            "RunHash": "A" * 32, "ReadHash": "B" * 32,
        }  # fmt: skip
        return [values.get(column, "") for column in RUNINFO_HEADER]

    def expxml(self) -> str:
        layout = "<PAIRED/>" if self.layout == "PAIRED" else "<SINGLE/>"
        return (
            f"  <Summary><Title>GSM7518069: liver_1; {self.organism}; {self.strategy}</Title><Platform "
            f'instrument_model="{self.model}">{self.platform}</Platform><Statistics total_runs="1" total_spots="40" '
            f'total_bases="4000" total_size="2000" load_done="true" cluster_name="public"/></Summary><Submitter '
            f'acc="SRA1663813" center_name="GEO" contact_name="" lab_name=""/><Experiment acc="{self.experiment}" '
            f'ver="2" status="public" name="GSM7518069: liver_1"/><Study acc="{self.study}" name="liver atlas"/>'
            f'<Organism taxid="{self.taxid}" ScientificName="{self.organism}"/><Sample acc="SRS18093899" name=""/>'
            f'<Instrument {self.platform}="{self.model}"/><Library_descriptor><LIBRARY_NAME>{self.run}_lib'
            f"</LIBRARY_NAME><LIBRARY_STRATEGY>{self.strategy}</LIBRARY_STRATEGY><LIBRARY_SOURCE>{self.source}"
            f"</LIBRARY_SOURCE><LIBRARY_SELECTION>cDNA</LIBRARY_SELECTION><LIBRARY_LAYOUT>{layout}</LIBRARY_LAYOUT>"
            f"</Library_descriptor><Bioproject>{self.bioproject}</Bioproject><Biosample>{self.biosample}"
            f"</Biosample>  "
        )

    def esummary(self) -> dict[str, Any]:
        runs = f'  <Run acc="{self.run}" total_spots="40" total_bases="4000" load_done="true" is_public="true" ' \
               f'cluster_name="public" static_data_available="true"/>  '  # fmt: skip
        return {"uid": self.uid, "expxml": self.expxml(), "runs": runs, "extlinks": "", "createdate": "2024/10/04",
                "updatedate": "2023/06/28"}  # fmt: skip


RUNS = [
    Run("SRR25056225", "28241758", "SRX20810436", "SRP446371", "PRJNA988806", "SAMN36028297", "ILLUMINA",
        "Illumina NovaSeq 6000", "RNA-Seq", "TRANSCRIPTOMIC SINGLE CELL", "PAIRED", "Mus musculus", "10090", 100),
    Run("SRR1972976", "1400001", "SRX994253", "SRP056977", "PRJNA280000", "SAMN03456789", "OXFORD_NANOPORE",
        "MinION", "WGS", "GENOMIC", "SINGLE", "Escherichia coli", "562", 50),
    Run("SRR9990001", "1400002", "SRX9990001", "SRP999001", "PRJNA999001", "SAMN09990001", "ILLUMINA",
        "Illumina HiSeq 2500", "ChIP-Seq", "GENOMIC", "PAIRED", "Homo sapiens", "9606", 100, ena="bad_md5"),
    Run("SRR9990002", "1400003", "SRX9990002", "SRP999002", "PRJNA999002", "SAMN09990002", "BGISEQ",
        "DNBSEQ-G400", "WXS", "GENOMIC", "SINGLE", "Homo sapiens", "9606", 50, ena="missing"),
]  # fmt: skip
RUNS_BY_ACC = {r.run: r for r in RUNS}


class FakeNcbi:
    def __init__(self) -> None:
        self.requests: list[tuple[float, str, dict[str, str]]] = []
        self.scripted: dict[str, deque[int]] = defaultdict(deque)
        self.enforce_rate: int | None = None
        self.retry_after = "1"
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.host = f"127.0.0.1:{self.port}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-ncbi", daemon=True
        )

    # -- control ---------------------------------------------------------------------------

    @property
    def eutils_base(self) -> str:
        return f"{self.url}/entrez/eutils"

    @property
    def ena_base(self) -> str:
        return f"{self.url}/ena/portal/api"

    @property
    def reads_base(self) -> str:
        return f"{self.url}/Traces/sra-reads-be/fastq"

    def env(self) -> dict[str, str]:
        return {
            "NCBI_EUTILS_BASE": self.eutils_base,
            "ENA_PORTAL_BASE": self.ena_base,
            "NCBI_SRA_READS_BASE": self.reads_base,
            "NCBI_EMAIL": "lab@example.org",
            "NCBI_API_KEY": "",
            "NCBI_RETRY_BACKOFF_SECONDS": "0.05",
        }

    def start(self) -> FakeNcbi:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.scripted.clear()
            self.enforce_rate = None
            self.retry_after = "1"

    def fail_next(self, endpoint: str, *statuses: int) -> None:
        with self._lock:
            self.scripted[endpoint].extend(statuses)

    def calls(self, endpoint: str) -> list[tuple[float, str, dict[str, str]]]:
        return [r for r in self.requests if r[1].endswith(endpoint)]

    # -- answers ---------------------------------------------------------------------------

    def answer(self, path: str, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        endpoint = path.rstrip("/").rsplit("/", 1)[-1]
        with self._lock:
            now = time.time()
            self.requests.append((now, path, query))
            scripted = self.scripted[endpoint].popleft() if self.scripted[endpoint] else None
            if scripted is None and self.enforce_rate and "/entrez/eutils/" in path:
                recent = [t for t, p, _ in self.requests if "/entrez/eutils/" in p and now - t < 1.0]
                if len(recent) > self.enforce_rate:
                    scripted = 429
        if scripted == 429:
            body = {"error": "API rate limit exceeded", "api-key": "127.0.0.1", "count": "4", "limit": "3"}
            headers = {"Retry-After": self.retry_after, "X-RateLimit-Limit": "3", "X-RateLimit-Remaining": "0"}
            return 429, {"Content-Type": "application/json", **headers}, json.dumps(body).encode()
        if scripted:
            return scripted, {"Content-Type": "text/html"}, b"<html><body>Server Error</body></html>"
        if path.startswith("/entrez/eutils/"):
            return self.eutils(endpoint, query)
        if path == "/ena/portal/api/filereport":
            return self.filereport(query.get("accession", ""))
        if path.startswith("/vol1/fastq/"):
            return self.fastq_file(path)
        if path == "/Traces/sra-reads-be/fastq":
            run = RUNS_BY_ACC.get(query.get("acc", ""))
            if run is None:
                return 404, {"Content-Type": "text/plain"}, b"not found"
            data = b"".join(gzip.decompress(run.content(m)) for m in run.mates())
            return 200, {"Content-Type": "application/gzip"}, gzip.compress(data, mtime=0)
        return 404, {"Content-Type": "text/plain"}, b"no such page"

    @staticmethod
    def _json(data: Any) -> tuple[int, dict[str, str], bytes]:
        return 200, {"Content-Type": "application/json; charset=UTF-8"}, json.dumps(data).encode()

    @staticmethod
    def _text(text: str, status: int = 200) -> tuple[int, dict[str, str], bytes]:
        return status, {"Content-Type": "text/plain; charset=UTF-8"}, text.encode()

    def _records(self, db: str) -> dict[str, dict[str, Any]]:
        if db == "gene":
            return GENES
        if db == "pubmed":
            return PUBMED
        if db in SEQUENCES:
            return {acc: entry["summary"] for acc, entry in SEQUENCES[db].items()}
        if db == "bioproject":
            return BIOPROJECTS
        if db == "biosample":
            return BIOSAMPLES
        if db == "sra":
            return {run.uid: run.esummary() for run in RUNS}
        return {}

    def eutils(self, endpoint: str, q: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        db = q.get("db", "")
        if endpoint == "esearch.fcgi":
            term = q.get("term", "").split("[", 1)[0].strip().upper()
            ids: list[str] = []
            if db == "sra":
                ids = [r.uid for r in RUNS if term in (r.run, r.experiment, r.study, r.bioproject)]
            elif db == "bioproject":
                ids = [uid for uid, rec in BIOPROJECTS.items() if rec["project_acc"] == term]
            elif db == "biosample":
                ids = [uid for uid, rec in BIOSAMPLES.items() if rec["accession"] == term]
            result: dict[str, Any] = {
                "count": str(len(ids)), "retmax": str(len(ids)), "retstart": "0", "idlist": ids,
                "translationset": [], "querytranslation": q.get("term", ""),
            }  # fmt: skip
            if not ids:
                result["errorlist"] = {"phrasesnotfound": [q.get("term", "")], "fieldsnotfound": []}
                result["warninglist"] = {"phrasesignored": [], "quotedphrasesnotfound": [],
                                         "outputmessages": ["No items found."]}  # fmt: skip
            return self._json({"header": {"type": "esearch", "version": "0.3"}, "esearchresult": result})
        if endpoint == "esummary.fcgi":
            records = self._records(db)
            uids = [u for u in q.get("id", "").split(",") if u]
            result = {"uids": uids}
            for uid in uids:
                record = records.get(uid) or records.get(uid.upper())
                result[uid] = record if record else {"uid": uid, "error": "cannot get document summary"}
            return self._json({"header": {"type": "esummary", "version": "0.3"}, "result": result})
        if endpoint == "efetch.fcgi":
            ids = [u for u in q.get("id", "").split(",") if u]
            rettype = q.get("rettype", "")
            if db in SEQUENCES and rettype == "fasta":
                entries = [SEQUENCES[db].get(i.upper()) for i in ids]
                if not all(e and e["fasta"] for e in entries):
                    return self._text(f"Error: F a i l e d  to retrieve sequence {','.join(ids)}\n")
                return self._text("".join(e["fasta"] for e in entries if e))
            if db == "pubmed" and rettype == "abstract":
                if not all(i in ABSTRACTS for i in ids):
                    return self._text("")
                return self._text("\n\n".join(ABSTRACTS[i] for i in ids))
            if db == "sra" and rettype == "runinfo":
                runs = [r for r in RUNS if r.uid in ids or r.run in ids]
                if not runs:
                    return self._text("")
                lines = [",".join(RUNINFO_HEADER)] + [",".join(r.runinfo_row()) for r in runs]
                return self._text("\n".join(lines) + "\n")
            return self._text("Error: unsupported request\n", 400)
        return self._text("Error: unknown endpoint\n", 400)

    def filereport(self, accession: str) -> tuple[int, dict[str, str], bytes]:
        accession = accession.upper()
        lines = ["run_accession\tfastq_ftp\tfastq_md5\tfastq_bytes"]
        for run in RUNS:
            if accession not in (run.run, run.experiment, run.study, run.bioproject) or run.ena == "missing":
                continue
            mates = run.mates()
            paths = [run.ena_path(self.host, m) for m in mates]
            md5s = [hashlib.md5(run.content(m)).hexdigest() for m in mates]
            if run.ena == "bad_md5":
                md5s[-1] = "0" * 32
            sizes = [str(len(run.content(m))) for m in mates]
            lines.append(f"{run.run}\t{';'.join(paths)}\t{';'.join(md5s)}\t{';'.join(sizes)}")
        return self._text("\n".join(lines) + "\n")

    def fastq_file(self, path: str) -> tuple[int, dict[str, str], bytes]:
        name = path.rsplit("/", 1)[-1]
        for run in RUNS:
            for mate in run.mates():
                if run.file_name(mate) == name:
                    return 200, {"Content-Type": "application/octet-stream"}, run.content(mate)
        return 404, {"Content-Type": "text/plain"}, b"no such file"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                status, headers, body = fake.answer(url.path, query)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        return Handler


@pytest.fixture(scope="session")
def fake_ncbi_server():
    fake = FakeNcbi().start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def fake_ncbi(fake_ncbi_server):
    """The session's fake server, with no scripted failures and an empty request log."""
    fake_ncbi_server.reset()
    yield fake_ncbi_server
    fake_ncbi_server.reset()


# --- the fake's own checks: it answers in the documented shapes ----------------------------


def _get(url: str) -> tuple[int, bytes, Any]:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read(), response.headers
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), exc.headers


def test_fake_esearch_and_esummary_envelopes(fake_ncbi):
    status, body, _ = _get(f"{fake_ncbi.eutils_base}/esearch.fcgi?db=sra&term=SRR25056225&retmode=json")
    data = json.loads(body)
    assert status == 200 and data["header"]["type"] == "esearch"
    assert data["esearchresult"]["count"] == "1" and data["esearchresult"]["idlist"] == ["28241758"]
    _, body, _ = _get(f"{fake_ncbi.eutils_base}/esearch.fcgi?db=sra&term=SRR0&retmode=json")
    assert json.loads(body)["esearchresult"]["count"] == "0"
    _, body, _ = _get(f"{fake_ncbi.eutils_base}/esummary.fcgi?db=gene&id=7157,1&retmode=json")
    result = json.loads(body)["result"]
    assert result["uids"] == ["7157", "1"] and result["7157"]["name"] == "TP53"
    assert result["1"] == {"uid": "1", "error": "cannot get document summary"}


def test_fake_runinfo_filereport_and_fastq(fake_ncbi):
    _, body, _ = _get(f"{fake_ncbi.eutils_base}/efetch.fcgi?db=sra&id=28241758&rettype=runinfo&retmode=text")
    header, row = body.decode().strip().splitlines()
    assert len(header.split(",")) == 47 and row.startswith("SRR25056225,")
    _, body, _ = _get(f"{fake_ncbi.ena_base}/filereport?accession=SRR25056225&result=read_run&format=tsv")
    run, paths, md5s, sizes = body.decode().strip().splitlines()[1].split("\t")
    first = paths.split(";")[0]
    assert "://" not in first and first.endswith("SRR25056225_1.fastq.gz")
    status, data, _ = _get(f"http://{first}")
    assert status == 200 and hashlib.md5(data).hexdigest() == md5s.split(";")[0]
    assert len(data) == int(sizes.split(";")[0])
    assert gzip.decompress(data).startswith(b"@SRR25056225.1 1/1\n")


def test_fake_scripted_rate_limit_answer(fake_ncbi):
    fake_ncbi.fail_next("esummary.fcgi", 429)
    status, body, headers = _get(f"{fake_ncbi.eutils_base}/esummary.fcgi?db=gene&id=7157&retmode=json")
    assert status == 429 and headers["Retry-After"] == "1"
    assert json.loads(body) == {"error": "API rate limit exceeded", "api-key": "127.0.0.1", "count": "4", "limit": "3"}
    status, _, _ = _get(f"{fake_ncbi.eutils_base}/esummary.fcgi?db=gene&id=7157&retmode=json")
    assert status == 200
