"""template.yaml's operational settings (issue 15): every function logs to a group with a retention."""

from local.aws import load_template

TEMPLATE = load_template()
RESOURCES = TEMPLATE["Resources"]


def test_every_function_logs_to_its_own_group_kept_for_the_retention_parameter():
    functions = [k for k, v in RESOURCES.items() if v["Type"] == "AWS::Serverless::Function"]
    assert len(functions) >= 8
    groups = set()
    for logical in functions:
        ref = RESOURCES[logical]["Properties"].get("LoggingConfig", {}).get("LogGroup", {}).get("Ref")
        assert ref, f"{logical} has no LoggingConfig.LogGroup: Lambda's default group keeps logs forever"
        group = RESOURCES[ref]
        assert group["Type"] == "AWS::Logs::LogGroup", logical
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}, logical
        groups.add(ref)
    assert len(groups) == len(functions)  # one group each: a function's logs are found by its name
    param = TEMPLATE["Parameters"]["LogRetentionDays"]
    assert param["Default"] == 30 and 30 in param["AllowedValues"]
