// The dial-in page's script (daily_dialin/ui/page.py inlines it): fetches the tiles and the list,
// inserts every value as text, and starts runs through Airflow's REST API with the user's token.
const CTX = JSON.parse(document.getElementById('ctx').textContent);
(function theme(){let m=null;try{m=localStorage.getItem('chakra-ui-color-mode')}catch(e){}
 try{const p=window.parent.document.documentElement;if(p!==document.documentElement){
 if(p.classList.contains('dark'))m='dark';else if(p.classList.contains('light'))m='light'}}catch(e){}
 const q=new URLSearchParams(location.search).get('theme');if(q)m=q;
 if(m)document.documentElement.classList.add(m);})();
// the list is keyset-paged: S.trail holds the cursor of every page up to the one shown ('' = the first)
const S={trail:[''],next:null,size:50,q:'',sort:'starts_at',status:'',selected:new Set(),tiles:null,page:null};
function first(){S.trail=[''];S.next=null}
const $=id=>document.getElementById(id);
function el(tag,text,cls){const e=document.createElement(tag);if(text!=null)e.textContent=String(text);if(cls)e.className=cls;return e}
function headers(){const h={'Accept':'application/json'};let t=null;try{t=localStorage.getItem('token')}catch(e){}
 if(t)h['Authorization']='Bearer '+t;return h}
async function get(path,params){const u=new URL(path,location.href);
 for(const[k,v]of Object.entries(params||{}))if(v!==''&&v!=null)u.searchParams.set(k,v);
 const r=await fetch(u,{headers:headers(),credentials:'same-origin'});
 if(!r.ok)throw new Error(r.status+' '+r.statusText);return r.json()}
const TILES=[['within_horizon','within horizon'],['ready','ready'],['pending','pending'],['problems','problems'],
 ['at_risk','at risk'],['missed','missed'],['deferred','deferred (live)'],['given_up','given up']];
function drawTiles(t){const box=$('tiles');box.replaceChildren();
 for(const[k,label]of TILES){const d=el('div',null,'tile t-'+k+(S.status===k?' sel':''));d.dataset.tile=k;
  d.append(el('b',t[k]),el('span',label));
  if(k!=='within_horizon'&&k!=='at_risk')d.onclick=()=>{S.status=S.status===k?'':k;first();$('status').value=S.status;load()};
  box.append(d)}
 $('risk').textContent=(t.at_risk?('At risk (starting within '+t.alert_within_minutes+' min without a room): '+t.at_risk_ids.join(', ')+'. '):'')
  +'Counts as of '+Math.round(t.as_of_seconds)+' s ago.';
 drawChart(t.days)}
function drawChart(days){const svg=$('chart'),W=days.length*28,H=90,NS='http://www.w3.org/2000/svg';
 svg.setAttribute('viewBox','0 0 '+W+' '+(H+16));svg.replaceChildren();
 const max=Math.max(1,...days.map(d=>d.ready+d.not_ready));
 days.forEach((d,i)=>{const x=i*28+4,hr=H*d.ready/max,hn=H*d.not_ready/max;
  const r=document.createElementNS(NS,'rect');r.setAttribute('x',x);r.setAttribute('width',20);r.setAttribute('y',H-hr);r.setAttribute('height',hr);r.setAttribute('fill','var(--ok)');
  const n=document.createElementNS(NS,'rect');n.setAttribute('x',x);n.setAttribute('width',20);n.setAttribute('y',H-hr-hn);n.setAttribute('height',hn);n.setAttribute('fill','var(--warn)');
  const tt=document.createElementNS(NS,'title');tt.textContent=d.day+': '+d.ready+' ready, '+d.not_ready+' not ready';r.append(tt);n.append(tt.cloneNode(true));
  const l=document.createElementNS(NS,'text');l.setAttribute('x',x);l.setAttribute('y',H+12);l.textContent=d.day.slice(8);
  svg.append(r,n,l)})}
function cell(tr,v,cls){const td=el('td',v==null?'':v,cls);tr.append(td);return td}
function drawRows(p){const body=$('rows');body.replaceChildren();const figs=p.figures;
 document.querySelectorAll('th.fig').forEach(th=>th.remove());$('head').append(...figs.map(f=>el('th',f.replace('phone_','phone '),'fig')));
 for(const r of p.rows){const tr=el('tr');tr.dataset.id=r.meeting_id;
  const cb=el('input');cb.type='checkbox';cb.disabled=!CTX.can_trigger||r.state==='ready';cb.checked=S.selected.has(r.meeting_id);
  cb.onchange=()=>{cb.checked?S.selected.add(r.meeting_id):S.selected.delete(r.meeting_id);$('provision').disabled=!S.selected.size};
  const c0=el('td');c0.append(cb);tr.append(c0);
  cell(tr,r.meeting_id);cell(tr,r.title);const ts=cell(tr,r.starts_local);ts.title=r.starts_at||'';
  const st=el('td');st.append(el('span',r.state.replace('_',' '),'st st-'+r.state));tr.append(st);
  cell(tr,r.series_id);const room=el('td');if(r.room_url){const a=el('a','room');a.href=r.room_url;a.target='_blank';a.rel='noopener';room.append(a)}tr.append(room);
  cell(tr,r.number);cell(tr,r.dial_string||r.pin);
  const e=cell(tr,r.last_error,'err');if(r.help){e.append(' ');const doc='docs/'+r.help.replace('#','.md#');
  if(CTX.docs){const a=el('a','help');a.href=CTX.docs+r.help.replace('#','.html#');a.target='_blank';a.rel='noopener';a.title=doc;e.append(a)}
  else e.append(el('span','(see '+doc+')','note'))}
  for(const f of figs)cell(tr,r[f]);body.append(tr)}
 S.next=p.next;pageInfo(p);$('prev').disabled=S.trail.length<=1;$('next').disabled=!p.next}
function pageInfo(p){const at=(S.trail.length-1)*S.size,t=S.tiles;
 const total=p.total!=null?p.total:!p.next?at+p.rows.length:(t&&!S.q?(S.status?t[S.status]:t.listed):null);
 $('pageinfo').textContent=(p.rows.length?'rows '+(at+1)+'–'+(at+p.rows.length):'no rows')+(total!=null?' of '+total:'')}
// tiles and rows are drawn as each arrives (the list is the quicker); the pager's total is the list's
// own count where it has one, else the tiles' count of the same rows
async function load(){const q={table:CTX.dag_id};let failed=null;
 const tiles=get('api/tiles',q).then(t=>{S.tiles=t;drawTiles(t);if(S.page)pageInfo(S.page)}).catch(e=>{failed=e});
 const rows=get('api/meetings',{...q,cursor:S.trail[S.trail.length-1],size:S.size,q:S.q,sort:S.sort,status:S.status})
  .then(p=>{S.page=p;drawRows(p)}).catch(e=>{failed=e});
 await Promise.all([tiles,rows]);
 if(failed)$('err').textContent='Could not load: '+failed.message;else{$('err').textContent='';painted()}}
// the first tiles and rows on screen: a mark for the benchmark (bench/ui), after the frame that shows them
function painted(){if(performance.getEntriesByName('dialin-data').length)return;
 requestAnimationFrame(()=>setTimeout(()=>performance.mark('dialin-data'),0))}
async function approvals(){try{const r=await fetch('/api/v2/dags/~/dagRuns/~/hitlDetails?response_received=false&dag_id_prefix_pattern='+encodeURIComponent(CTX.dag_id),{headers:headers(),credentials:'same-origin'});
 if(!r.ok)return;const j=await r.json();if(j.total_entries>0){const a=$('approval');a.hidden=false;a.textContent=j.total_entries+' approval(s) waiting in Required Actions'}}catch(e){}}
async function provision(){try{await startRun()}catch(e){$('msg').textContent='Could not start the run: '+e.message;$('provision').disabled=false}}
async function startRun(){const ids=[...S.selected];if(!ids.length)return;$('provision').disabled=true;
 const h=headers();h['Content-Type']='application/json';
 const r=await fetch('/api/v2/dags/'+encodeURIComponent(CTX.dag_id)+'/dagRuns',{method:'POST',headers:h,credentials:'same-origin',
  body:JSON.stringify({logical_date:null,conf:{meeting_ids:ids},note:'provision now, from the Dial-in page'})});
 if(r.ok){const j=await r.json();$('msg').textContent='Run '+j.dag_run_id+' started for '+ids.join(', ');S.selected.clear();setTimeout(load,3000)}
 else{$('msg').textContent='Airflow refused the run: '+r.status+' '+(await r.text()).slice(0,300);$('provision').disabled=false}}
$('q').oninput=()=>{clearTimeout(S.t);S.t=setTimeout(()=>{S.q=$('q').value.trim();first();load()},250)};
$('status').onchange=()=>{S.status=$('status').value;first();load()};
$('prev').onclick=()=>{if(S.trail.length>1){S.trail.pop();load()}};$('next').onclick=()=>{if(S.next){S.trail.push(S.next);load()}};
$('provision').onclick=provision;$('provision').hidden=!CTX.can_trigger;
document.querySelectorAll('th[data-sort]').forEach(th=>th.onclick=()=>{const k=th.dataset.sort;S.sort=S.sort===k?'-'+k:k;first();load()});
load();approvals();setInterval(load,30000);
