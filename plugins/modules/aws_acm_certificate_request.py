#!/usr/bin/python
# Copyright: (c) 2026, tradeops engineers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: aws_acm_certificate_request
short_description: Request a DNS-validated ACM certificate, once, and wait for ACM to issue it
version_added: "0.2.0"
description:
  - community.aws.acm_certificate imports certificates only; neither collection requests one
    from ACM. This module requests a public certificate validated by DNS, identified by its
    C(Name) tag among the certificates for I(domain_name), describe-first.
  - An existing certificate with the tag is kept while it covers every name asked for and is
    not failed, revoked, expired or timed out; otherwise a new one is requested (the old one
    stays until nothing uses it, then community.aws.acm_certificate deletes it).
  - Returns the CNAME records ACM validates the names with; write them into the public zone
    (amazon.aws.route53), then call the module again with I(wait=true) to wait for C(ISSUED).
    ACM renews the certificate by itself while the records stay.
author:
  - tradeops engineers (@tradeops)
options:
  name:
    description: The certificate's C(Name) tag, by which the module finds it again.
    type: str
    required: true
  domain_name:
    description: The certificate's domain name (the first name it covers).
    type: str
    required: true
  subject_alternative_names:
    description: The other names it covers.
    type: list
    elements: str
    default: []
  key_algorithm:
    description: The key ACM generates.
    type: str
    default: RSA_2048
    choices: [RSA_2048, EC_prime256v1, EC_secp384r1]
  wait:
    description: Wait until ACM has issued the certificate (its validation records must be in DNS).
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait for C(ISSUED) with I(wait=true), and for ACM to publish the
      validation records after a request.
    type: int
    default: 1800
extends_documentation_fragment:
  - tradeops.platform.aws
  - amazon.aws.tags
"""

EXAMPLES = r"""
- name: The load balancer's certificate
  tradeops.platform.aws_acm_certificate_request:
    name: tradeops-production
    domain_name: api.trading.example.com
    subject_alternative_names: [ws.trading.example.com]
    tags: "{{ tradeops_tags }}"
  register: cert

- name: Its validation records
  amazon.aws.route53:
    zone: trading.example.com
    record: "{{ item.Name }}"
    type: CNAME
    ttl: 300
    value: "{{ item.Value }}"
    overwrite: true
    state: present
  loop: "{{ cert.validation_records }}"

- name: Issued
  tradeops.platform.aws_acm_certificate_request:
    name: tradeops-production
    domain_name: api.trading.example.com
    subject_alternative_names: [ws.trading.example.com]
    wait: true
"""

RETURN = r"""
certificate_arn:
  description: ARN of the certificate (absent in check mode when it would be requested).
  returned: when it exists
  type: str
  sample: arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-0000-1111-2222-333344445555
status:
  description: ACM's status of the certificate (C(PENDING_VALIDATION), C(ISSUED) ...).
  returned: when it exists
  type: str
  sample: ISSUED
validation_records:
  description: The CNAME records ACM validates the names with (one per distinct record).
  returned: always
  type: list
  elements: dict
  sample:
    - {"Name": "_x1.api.trading.example.com.", "Type": "CNAME", "Value": "_x2.acm-validations.aws."}
"""

import hashlib  # noqa: E402
import time  # noqa: E402

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (  # noqa: E402
    ansible_dict_to_boto3_tag_list,
    compare_aws_tags,
)
from ansible_collections.tradeops.platform.plugins.module_utils.aws_edge import (  # noqa: E402
    find_certificate,
    requested_certificate_problems,
    validation_records,
)


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            domain_name=dict(type="str", required=True),
            subject_alternative_names=dict(type="list", elements="str", default=[]),
            key_algorithm=dict(
                type="str",
                default="RSA_2048",
                choices=["RSA_2048", "EC_prime256v1", "EC_secp384r1"],
            ),
            wait=dict(type="bool", default=False),
            wait_timeout=dict(type="int", default=1800),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    p = module.params
    names = [p["domain_name"]] + [
        n for n in p["subject_alternative_names"] if n != p["domain_name"]
    ]
    tags = dict(p["tags"] or {}, Name=p["name"])
    acm = module.client("acm")
    want = {"name": p["name"], "domains": names}
    try:
        cert, cert_tags, _count = find_certificate(acm, want)
    except Exception as err:
        module.fail_json_aws(err, msg=f"Could not look for the certificate {p['name']}")
    changed = False
    if cert is not None and requested_certificate_problems(cert, names):
        cert = None
    if cert is None:
        changed = True
        if module.check_mode:
            module.exit_json(changed=True, validation_records=[])
        token = hashlib.sha256(("|".join([p["name"], *names])).encode()).hexdigest()[:32]
        try:
            arn = acm.request_certificate(
                DomainName=p["domain_name"],
                SubjectAlternativeNames=names,
                ValidationMethod="DNS",
                KeyAlgorithm=p["key_algorithm"],
                IdempotencyToken=token,
                Tags=ansible_dict_to_boto3_tag_list(tags),
            )["CertificateArn"]
        except Exception as err:
            module.fail_json_aws(err, msg=f"Could not request the certificate {p['name']}")
        cert_tags = dict(tags)
    else:
        arn = cert["CertificateArn"]
        to_set, to_unset = compare_aws_tags(cert_tags, tags, purge_tags=p["purge_tags"])
        to_unset = [k for k in to_unset if k != "Name"]
        if to_set or to_unset:
            changed = True
            if not module.check_mode:
                try:
                    if to_unset:
                        acm.remove_tags_from_certificate(
                            CertificateArn=arn, Tags=[{"Key": k} for k in to_unset]
                        )
                    if to_set:
                        acm.add_tags_to_certificate(
                            CertificateArn=arn, Tags=ansible_dict_to_boto3_tag_list(to_set)
                        )
                except Exception as err:
                    module.fail_json_aws(err, msg=f"Could not tag the certificate {arn}")

    # ACM publishes the validation records a few seconds after the request; with wait, the
    # status moves to ISSUED once the records are in DNS.
    deadline = time.monotonic() + p["wait_timeout"]
    while True:
        try:
            cert = acm.describe_certificate(CertificateArn=arn)["Certificate"]
        except Exception as err:
            module.fail_json_aws(err, msg=f"Could not describe the certificate {arn}")
        records = validation_records(cert)
        status = cert.get("Status")
        done = status == "ISSUED" if p["wait"] else len(records) > 0 or status == "ISSUED"
        if done or module.check_mode:
            break
        if status in ("FAILED", "VALIDATION_TIMED_OUT", "REVOKED", "EXPIRED", "INACTIVE"):
            module.fail_json(msg=f"The certificate {arn} is {status}", certificate_arn=arn)
        if time.monotonic() > deadline:
            module.fail_json(
                msg=f"The certificate {arn} is still {status} after {p['wait_timeout']} s: are its "
                "validation records in the public zone, and is the zone delegated to Route 53?",
                certificate_arn=arn,
                validation_records=records,
            )
        time.sleep(10 if p["wait"] else 2)
    module.exit_json(
        changed=changed, certificate_arn=arn, status=status, validation_records=records
    )


if __name__ == "__main__":
    main()
