"""FRAUD_SUSPECT: phishing and scams written in port style."""
from .common import family, BANKS, APPS, COURIERS

L = "FRAUD_SUSPECT"
HINTS = {"招商银行": "cmb", "工商银行": "icbc", "中国工商银行": "icbc", "建设银行": "ccb", "中国建设银行": "ccb",
         "农业银行": "abc", "中国银行": "boc", "交通银行": "bocom", "邮储银行": "psbc", "平安银行": "pingan"}


def contact(r):
    k = r.randrange(5)
    if k == 0:
        return f"客服专员{r.mobile()}"
    if k == 1:
        return f"QQ {r.digits(r.randint(9, 10), False)}"
    if k == 2:
        return f"微信 {r.pick(['kf', 'jz', 'vip', 'lp', 'xm', 'tk'])}{r.digits(r.randint(4, 6))}"
    if k == 3:
        return f"专线{r.mobile()}"
    return f"加V：{r.alnum(2).lower()}{r.digits(5)}"


def urgency(r):
    return r.pick(["逾期作废", "过期将无法恢复", "请于24小时内处理", "今日内有效", "否则将影响正常使用", "名额有限",
                   "逾期将自动注销", "以免影响您的征信", ""])


@family(L, "fr_bank_points")
def bank_points(r):
    bank, _ = r.pick(BANKS[:10])
    hint = HINTS.get(bank, r.alnum(3).lower())
    body = r.pick([f"您的账户积分{r.randint(3000, 30000):,}分即将清零，可兑换现金{r.randint(100, 900)}元，请登录 {r.odd_url(hint)} 兑换",
                   f"尊敬的用户，您的信用卡积分可兑换{r.pick(['现金', '话费', '888元红包'])}，请点击 {r.odd_url(hint)} 及时领取",
                   f"您有{r.randint(5000, 50000)}积分未兑换，点击链接 {r.odd_url(hint)} 兑换{r.randint(200, 1500)}元现金"])
    u = urgency(r)
    return r.vary(r.sig(bank, body + ("，" + u if u else "") + "。", 0.05))


@family(L, "fr_etc_vehicle")
def etc(r):
    who = r.pick(["ETC服务中心", "ETC", "高速ETC", "交通运输部", "粤通卡", "速通卡", "车主服务"])
    body = r.pick([f"您的ETC已失效，为避免影响通行，请尽快登录 {r.odd_url('etc')} 重新认证",
                   f"尊敬的车主，您的ETC卡信息需重新认证，否则将停止使用，认证网址：{r.odd_url('etc')}",
                   f"您的ETC设备异常，已暂停扣费，请点击 {r.odd_url('etc')} 更新绑定银行卡信息",
                   f"车辆违章未处理将扣{r.randint(3, 12)}分，请在 {r.odd_url('12123')} 在线处理"])
    return r.vary(r.sig(who, body + "。", 0.05))


@family(L, "fr_medical_social")
def medical(r):
    who = r.pick(["国家医保局", "医保中心", "社保中心", "人社局", f"{r.city()}医保", "电子社保卡", "医保服务平台"])
    body = r.pick([f"您的医保卡存在异常，已被暂停使用，请登录 {r.odd_url('ybj')} 完成信息核实",
                   f"您的社保卡将于今日停用，请尽快点击 {r.odd_url('sb')} 进行年审",
                   f"您的医保账户余额{r.amount(1000, 9000, 2)}元可提现，请登录 {r.odd_url('yb')} 领取",
                   f"您名下社保信息存在违规盗刷记录，请立即拨打{r.mobile()}联系工作人员处理"])
    u = urgency(r)
    return r.vary(r.sig(who, body + ("，" + u if u else "") + "。", 0.05))


@family(L, "fr_express_claim")
def express_claim(r):
    c = r.pick(COURIERS)
    no = c[1] + r.digits(11) if not c[1].isdigit() else r.digits(13)
    body = r.pick([f"您的快递{no}在运输途中丢失，我司将为您理赔{r.randint(2, 5)}倍运费，请联系{contact(r)}",
                   f"您好，您的包裹因破损无法派送，可获赔{r.randint(100, 600)}元，请添加{contact(r)}办理",
                   f"快件{no}丢件理赔通知：请点击 {r.odd_url('kd')} 填写收款信息，赔付将于24小时内到账"])
    return r.vary(r.sig(c[0], body + "。", 0.05))


@family(L, "fr_fake_customer_service", weight=1.2)
def fake_cs(r):
    app = r.pick(["支付宝", "微信", "京东金融", "抖音", "快手", "拼多多", "美团", "淘宝", "百度", "中国银联"])
    body = r.pick([f"您开通的{r.pick(['百万保障', '会员自动续费', '学生贷款', '金条业务'])}将于今日扣费{r.amount(300, 1000, 0)}元/月，如需关闭请致电{r.mobile()}",
                   f"您的账户被误开通{r.pick(['代理商', 'VIP会员', '直播带货'])}权限，每月扣费{r.randint(500, 3000)}元，取消请联系客服{contact(r)}",
                   f"根据国家规定需注销您的{app}学生账户，否则影响征信，请联系客服{contact(r)}",
                   f"您的{app}账户存在风险，客服将通过共享屏幕协助处理，请下载会议App并联系{contact(r)}"])
    return r.vary(r.sig(app, body + "。", 0.05))


@family(L, "fr_job_brushing", weight=1.2)
def job(r):
    body = r.pick([f"兼职刷单，日结{r.randint(100, 300)}-{r.randint(400, 900)}元，在家动动手指即可，无需押金，有意者加{contact(r)}",
                   f"招聘网络点赞员，一单一结，每天{r.randint(1, 3)}小时，佣金{r.randint(5, 30)}元/单，联系{contact(r)}",
                   f"【{r.pick(['淘宝', '京东', '抖音', '拼多多'])}】商家招募试用员，垫付后本金+佣金秒返，详询{contact(r)}",
                   f"宝妈学生首选，手机打字日赚{r.randint(200, 800)}，{r.pick(['不收任何费用', '当天结算', '零门槛'])}，{contact(r)}"])
    return r.vary(body + r.pick(["", "。", "！"]), 0.2)


@family(L, "fr_fake_prize")
def prize(r):
    who = r.pick(APPS[:20] + ["中国移动", "央视", "奔跑吧节目组", "中国福利彩票"])
    body = r.pick([f"恭喜您获得{who}周年庆幸运用户奖励，{r.pick(['iPhone 15一部', '现金' + str(r.randint(5, 99)) + '000元', '奔驰轿车一辆'])}，请点击 {r.odd_url('gift')} 领取",
                   f"您的手机号被抽中二等奖，奖金{r.randint(3, 58)}000元，请登录 {r.odd_url('hd')} 填写领奖信息并缴纳个税",
                   f"尊敬的用户，您已被选为幸运会员，可免费领取{r.pick(['电视', '手机', '黄金'])}一份，联系{contact(r)}"])
    return r.vary(r.sig(who, body + "，" + urgency(r) + "。", 0.1).replace("，。", "。"))


@family(L, "fr_account_frozen")
def frozen(r):
    bank, _ = r.pick(BANKS)
    hint = HINTS.get(bank, r.alnum(3).lower())
    body = r.pick([f"您的账户因涉嫌异常交易已被冻结，请立即登录 {r.odd_url(hint)} 解冻，{urgency(r)}",
                   f"您尾号{r.tail()}的银行卡因身份信息过期已被限制使用，请点击 {r.odd_url(hint)} 更新",
                   f"您的网银U盾已过期，请尽快登录 {r.odd_url(hint)} 进行升级，否则账户将被冻结",
                   f"您的手机银行将于明日停用，请立即通过 {r.odd_url(hint)} 验证身份，如有疑问请致电{r.mobile()}"])
    return r.vary(r.sig(bank, body + "。", 0.05).replace("，。", "。"))


# ---- test families ----

@family(L, "fr_boss_acquaintance", split="test")
def boss(r):
    who = r.pick(["张总", "李总", "王局", "陈经理", "刘主任", "赵处", "孙董"])
    kin = r.pick(["老同学", "表哥", "你舅舅", "你二姨", "大学室友"])
    body = r.pick([f"我是{kin}，换手机号了，这个是新号，有点急事想找你帮忙，方便的话加我QQ{r.digits(10, False)}详聊",
                   f"我是{who}，这是我新号码，你存一下。明天上午来我办公室一趟，先加我微信{r.alnum(2).lower()}{r.digits(6)}",
                   f"{r.pick(['小王', '小李', '小刘'])}，我是{who}，现在开会不方便接电话，有笔款急需转给客户，你先帮我垫付一下，QQ{r.digits(10, False)}联系",
                   f"爸妈，我手机掉水里了，这是同学的号码，急需{r.randint(2, 9)}000元交资料费，打到这个卡上{r.digits(16, False)}"])
    return body


@family(L, "fr_subsidy_refund", split="test")
def subsidy(r):
    who = r.pick(["个税服务", "财政局", "人社部", "住房公积金", "税务局", "补贴发放中心", "教育局"])
    body = r.pick([f"您有一笔{r.pick(['个人所得税退税', '失业补贴', '育儿补贴', '职业技能补贴', '公积金补贴'])}{r.amount(800, 6000, 0)}元待领取，请于3日内访问 {r.odd_url('gov')} 申请",
                   f"2024年度{r.pick(['劳动补贴', '住房补贴', '高温补贴'])}发放通知，请扫描附件二维码或登录 {r.odd_url('bt')} 认领，过期视为自动放弃",
                   f"您的退税审核已通过，需验证银行卡后到账，请点击 {r.odd_url('tax')} 填写卡号及短信验证码"])
    return r.sig(who, body + "。", 0.1)


@family(L, "fr_loan_unfreeze_fee", split="test")
def loan_fee(r):
    who = r.pick(["国家助学贷", "平安普惠", "京东白条", "360借条", "度小满", "网商贷", "微粒贷"])
    body = r.pick([f"您申请的{r.randint(3, 20)}万元贷款已审批，因银行卡号填写错误资金已冻结，需缴纳{r.randint(2, 9)}000元解冻金，联系{contact(r)}",
                   f"无抵押无征信，黑户白户均可办理，最快{r.randint(5, 30)}分钟下款，先息后本，联系{contact(r)}",
                   f"恭喜您通过大额贷款审核，为证明还款能力请先转入流水{r.randint(3, 10)}000元，详询{contact(r)}"])
    return r.sig(who, body + "。", 0.2) if r.random() < 0.7 else body
