"""COLLECTION: lawful, polite debt-collection reminders signed by the lender or an agency."""
from .common import family, BANKS
from .loan import LENDERS

L = "COLLECTION"
AGENCIES = ["恒信资产管理", "中诚信达", "安信法务", "正和资产", "博睿信息咨询", "诚信通达", "融和信息咨询", "汇泽法务",
            "金诚资产", "鼎和信息服务", "华融汇通", "信达盈科"]


def hotline(r, bank_hot=None, agency=False):
    if bank_hot:
        return bank_hot
    forms = [f"400-{r.digits(3)}-{r.digits(4)}", f"400{r.digits(7)}",
             f"0{r.pick(['10', '21', '20', '755', '571', '28', '27', '25', '532'])}-{r.digits(8, False)}"]
    return r.pick(forms if agency else forms + [f"95{r.digits(3, False)}"])


def lender(r):
    if r.random() < 0.4:
        return r.pick(BANKS)
    return r.pick(LENDERS), None


def days(r):
    return r.pick([1, 2, 3, 5, 7, 10, 15, 20, 30, 45, 60, 90, 120])


def polite_end(r):
    return r.pick(["如已还款请忽略本短信", "如已还款请忽略", "感谢您的配合", "如有疑问请联系客服", "祝您生活愉快",
                   "如有困难可来电协商", ""])


@family(L, "col_overdue_lender", weight=1.4)
def overdue_lender(r):
    s, hot = lender(r)
    amt = r.amount(100, 50000, 2)
    body = r.pick([f"您的借款已逾期{days(r)}天，逾期金额{amt}元，为避免产生更多罚息，请尽快还款",
                   f"尊敬的客户，您本期账单{amt}元已逾期，请及时还款，以免影响您的个人信用记录",
                   f"{r.person()}您好，您在我司的借款当前待还{amt}元，已逾期{days(r)}天，请及时处理",
                   f"温馨提示：截至{r.md(0)}，您尚有{amt}元欠款未还，逾期将按合同约定收取违约金，请尽快登录App还款"])
    line = r.maybe(0.6, f"，客服热线{hotline(r, hot)}")
    end = polite_end(r)
    return r.vary(r.sig(s, body + line + ("。" + end if end else "") + "。", 0.05))


@family(L, "col_credit_card_overdue")
def card_overdue(r):
    bank, hot = r.pick(BANKS)
    amt = r.amount(500, 90000, 2)
    body = r.pick([f"您尾号{r.tail()}的信用卡已逾期，欠款{amt}元，请尽快还款，以免影响征信，详询{hot}",
                   f"尊敬的持卡人，您的信用卡最低还款额{r.amount(100, 9000, 2)}元未按期归还，请于{r.md(0)}前还款",
                   f"您的信用卡账户已逾期{days(r)}天，当前欠款{amt}元。如确有还款困难，可致电{hot}申请个性化分期"])
    end = polite_end(r)
    return r.vary(r.sig(bank, body + ("，" + end if end else "") + "。", 0.05))


@family(L, "col_agency_entrusted", weight=1.2)
def agency(r):
    ag = r.pick(AGENCIES)
    s = r.pick(LENDERS + [b for b, _ in BANKS])
    amt = r.amount(500, 80000, 2)
    body = r.pick([f"受{s}委托，提醒您名下欠款{amt}元已逾期，请尽快与我司联系协商还款事宜，电话{hotline(r, agency=True)}",
                   f"{r.person()}，我司受{s}委托处理您的逾期账款（{amt}元），请于{r.randint(3, 7)}个工作日内联系{hotline(r, agency=True)}",
                   f"您好，您在{s}的账户已逾期{days(r)}天，我司已受托跟进，请回电{hotline(r, agency=True)}了解还款方案"])
    tail = r.pick(["工作时间9:00-18:00", "如已结清请忽略", "感谢配合", ""])
    return r.vary(r.sig(ag, body + ("，" + tail if tail else "") + "。", 0.1))


@family(L, "col_repayment_plan")
def plan(r):
    s, hot = lender(r)
    amt = r.amount(1000, 60000, 2)
    body = r.pick([f"您的逾期欠款{amt}元可申请分期还款，最长{r.pick([6, 12, 24])}期，请登录App提交申请或致电{hotline(r, hot)}",
                   f"为帮助您尽快恢复正常还款，{r.md(0)}前结清逾期本金可申请减免部分罚息，详询{hotline(r, hot)}",
                   f"您的逾期账户现支持协商还款，首期还款{r.amount(100, 3000, 2)}元即可办理，请及时处理"])
    return r.vary(r.sig(s, body + "。", 0.05))


# ---- test families ----

@family(L, "col_credit_report_notice", split="test")
def credit_report(r):
    s, hot = lender(r)
    amt = r.amount(100, 60000, 2)
    body = r.pick([f"根据《征信业管理条例》，您的逾期信息（逾期金额{amt}元）将按规定报送金融信用信息基础数据库，请尽快还款",
                   f"您好，我们注意到您的账户有一笔{amt}元的还款尚未完成。按时还款有助于保持良好信用，如需协助请拨打{hotline(r, hot)}",
                   f"逾期提醒：应还{amt}元，已逾期{days(r)}天。今日还款可减少罚息，还款渠道：App-我的账单-立即还款"])
    return r.sig(s, body + "。", 0.1)


@family(L, "col_mediation_notice", split="test")
def mediation(r):
    org = r.pick([f"{r.city()}{r.pick(['金融纠纷调解中心', '互联网金融调解中心', '人民调解委员会'])}",
                  r.pick(["盈和律师事务所", "德衡律师事务所", "金杜法务服务", "天元法务"])])
    s = r.pick(LENDERS + [b for b, _ in BANKS])
    body = r.pick([f"{r.person()}：您与{s}的借款合同纠纷已申请调解，欠款本息合计{r.amount(1000, 90000, 2)}元，请于{r.randint(5, 15)}日内联系调解员{r.surname()}老师，电话{hotline(r, agency=True)}",
                   f"关于您在{s}的逾期账款，本中心受理了调解申请，调解免费且自愿，您可来电{hotline(r, agency=True)}协商还款安排"])
    return r.sig(org, body + "。", 0.1)
